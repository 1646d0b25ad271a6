import Logging
import Synchronization

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

/// One broker per data directory. A second broker on the same directory would close the
/// first one's live sessions as `broker-crash` at its start, and their real endings would
/// then be lost; so a broker holds an exclusive `flock` on `DATA/broker.lock` for its whole
/// life, and a second one stops before it reads or writes anything else.
///
/// The lock belongs to the open file: it is released by ``release()``, when the object goes
/// away, or by the kernel when the process dies (even with `kill -9`). Two locks on one
/// directory conflict within one process too.
public final class DataDirectoryLock: Sendable {
    /// The data directory.
    public let directory: String
    /// `DATA/broker.lock`: holds the pid of the broker that has it.
    public var path: String { directory + "/broker.lock" }
    private let descriptor: Mutex<Int32?>

    private init(directory: String, descriptor: Int32) {
        self.directory = directory
        self.descriptor = Mutex(descriptor)
    }

    deinit { release() }

    /// Prepares `directory` (created 0700; an existing one that others may use is tightened
    /// to 0700 with a warning) and takes its lock. Throws, naming the holder's pid, when
    /// another broker has it.
    public static func acquire(directory: String, logger: Logger) throws -> DataDirectoryLock {
        do {
            if try PrivateFile.makeDirectory(directory) {
                logger.warning(
                    "The data directory was open to other users; it is now 0700 (owner only)",
                    metadata: ["tandem.data.dir": "\(directory)"]
                )
            }
        } catch {
            throw TandemBroker.Error(description: "cannot use the data directory \(directory): \(error)")
        }
        let path = directory + "/broker.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw TandemBroker.Error(description: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            let holder = Self.holder(fd)
            close(fd)
            guard code == EAGAIN else {
                throw TandemBroker.Error(description: "cannot lock \(path): \(String(cString: strerror(code)))")
            }
            throw TandemBroker.Error(
                description: "another broker\(holder.map { " (pid \($0))" } ?? "") is running on the data directory \(directory) "
                    + "(\(path) is locked); stop it first, or give this broker its own --data-dir"
            )
        }
        _ = fchmod(fd, 0o600)
        // The pid, for the message a second broker prints.
        let pid = Array("\(getpid())\n".utf8)
        if ftruncate(fd, 0) == 0 {
            _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        }
        return DataDirectoryLock(directory: directory, descriptor: fd)
    }

    /// Gives the lock up (closing the file releases it). Later calls do nothing.
    public func release() {
        let fd = descriptor.withLock { held in
            let fd = held
            held = nil
            return fd
        }
        if let fd { close(fd) }
    }

    /// The pid written in the lock file, if it reads as one.
    private static func holder(_ fd: Int32) -> Int32? {
        var bytes = [UInt8](repeating: 0, count: 32)
        let count = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return Int32(String(decoding: bytes[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
