#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Files and folders only the broker's user may read: private keys (0600) and the data
/// directory with its subfolders (0700). Modes are set explicitly, whatever the umask (a
/// service started with umask 000 must not make world-writable files).
public enum PrivateFile {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String

        init(_ what: String, _ path: String, errno code: Int32) {
            description = "\(what) \(path): \(String(cString: strerror(code)))"
        }
    }

    /// Replaces `path` with `data`, readable by the owner only from the moment the file
    /// exists: created exclusively (`O_EXCL`, mode 0600) under a temporary name, written,
    /// flushed to disk, then renamed over `path`. A crash leaves the old file or the new one,
    /// never a half-written or briefly world-readable key.
    /// - Parameter permissions: the file's final mode: 0600 for secrets, 0644 for public
    ///   files (certificates, public keys), which are then never writable by others either.
    public static func write(_ data: Data, to path: String, permissions: Int = 0o600) throws {
        let temporary = path + ".new"
        if unlink(temporary) != 0, errno != ENOENT { throw Failure("cannot remove", temporary, errno: errno) }
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw Failure("cannot create", temporary, errno: errno) }
        do {
            // O_CREAT's mode passes through the umask, which may only take bits away; fchmod
            // makes it exactly what was asked for (never more than 0644).
            guard fchmod(descriptor, mode_t(permissions & 0o644)) == 0 else { throw Failure("cannot set the mode of", temporary, errno: errno) }
            try data.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = posixWrite(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw Failure("cannot write", temporary, errno: errno)
                    }
                    offset += written
                }
            }
            guard fsync(descriptor) == 0 else { throw Failure("cannot flush", temporary, errno: errno) }
        } catch {
            close(descriptor)
            unlink(temporary)
            throw error
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw Failure("cannot rename \(temporary) to", path, errno: code)
        }
        syncDirectory(of: path)
    }

    /// Creates `path` as a directory only its owner may use (0700), with missing parents
    /// (theirs get the usual modes), or tightens an existing one that others may use.
    /// Returns true when an existing directory was looser and has been tightened.
    @discardableResult
    public static func makeDirectory(_ path: String) throws -> Bool {
        var info = stat()
        if stat(path, &info) != 0 {
            guard errno == ENOENT else { throw Failure("cannot inspect", path, errno: errno) }
            let parent = parentDirectory(of: path)
            if parent != path, !FileManager.default.fileExists(atPath: parent) {
                try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            }
            if mkdir(path, 0o700) != 0, errno != EEXIST { throw Failure("cannot create", path, errno: errno) }
            guard chmod(path, 0o700) == 0 else { throw Failure("cannot restrict", path, errno: errno) }
            return false
        }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw Failure("not a directory:", path, errno: ENOTDIR) }
        guard info.st_mode & 0o077 != 0 else { return false }
        guard chmod(path, 0o700) == 0 else { throw Failure("cannot restrict", path, errno: errno) }
        return true
    }

    /// Sets an existing file to 0600 when others may read or write it. Missing files are fine.
    public static func restrict(_ path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else { return }
        guard info.st_mode & 0o077 != 0 else { return }
        guard chmod(path, 0o600) == 0 else { throw Failure("cannot restrict", path, errno: errno) }
    }

    static func parentDirectory(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }

    /// Makes a rename durable (best effort: not every file system allows it).
    private static func syncDirectory(of path: String) {
        let directory = open(parentDirectory(of: path), O_RDONLY | O_CLOEXEC)
        guard directory >= 0 else { return }
        _ = fsync(directory)
        close(directory)
    }
}

private func posixWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(descriptor, buffer, count)
    #else
    Darwin.write(descriptor, buffer, count)
    #endif
}
