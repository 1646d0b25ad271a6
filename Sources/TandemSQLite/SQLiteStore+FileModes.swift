#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SQLiteStore {
    /// The database holds customers' addresses, tickets and notes: the file and its `-wal`
    /// and `-shm` companions are the owner's only (0600), whatever the umask. A missing
    /// database is created empty with mode 0600 before SQLite opens it (SQLite takes an empty
    /// file as a new database, and creates `-wal` and `-shm` with the main file's mode);
    /// existing files that others may use are tightened. Best effort: a file this user may
    /// not change (a read-only auditor's copy) is left to SQLite to open or refuse.
    static func restrictFileModes(_ path: String) {
        guard !path.isEmpty, path != ":memory:", !path.hasPrefix("file:") else { return }
        let descriptor = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0o600)
        if descriptor >= 0 {
            _ = fchmod(descriptor, 0o600)
            close(descriptor)
        }
        for companion in [path + "-wal", path + "-shm", path + "-journal"] {
            var info = stat()
            if stat(companion, &info) == 0, info.st_mode & 0o077 != 0 { _ = chmod(companion, 0o600) }
        }
    }
}
