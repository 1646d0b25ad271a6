import Crypto
import Logging
import NIOCore
import NIOPosix
import TandemCore
import TandemProtocol

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

/// Closes the recordings a broker that died left open (protocol/README.md §19): at start,
/// after the sessions it left open were closed as `broker-crash`, every `.tdrec` file of an
/// ended session without `recording.closed` is cut after its last whole entry (a kill in the
/// middle of a write leaves a torn one), synced, hashed, and logged as `recording.closed`
/// with `recovered: broker-crash` — so it is served and checked like any other.
struct RecordingRecovery {
    let directory: String
    let store: any TandemStore
    let logger: Logger

    /// What a recovered file holds.
    struct Sealed: Sendable, Equatable {
        var bytes: Int64
        var sha256: String
        var frames: Int
        var controls: Int
        /// Bytes of a torn (or damaged) last entry that were cut off.
        var truncatedBytes: Int64
    }

    struct RecoveryError: Error, CustomStringConvertible {
        let description: String
    }

    /// Returns how many recordings were recovered.
    @discardableResult
    func run() async throws -> Int {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return 0 }
        var recovered = 0
        for name in names.sorted() where name.hasSuffix(".tdrec") {
            let sessionID = String(name.dropLast(".tdrec".count))
            guard SessionID.isWellFormed(sessionID), let session = try await store.session(id: sessionID) else {
                logger.warning(
                    "A recording file belongs to no session in the log; left as it is",
                    metadata: ["tandem.recording.file": "\(name.debugDescription)"]
                )
                continue
            }
            // A live session's recording is still being written (not by this broker, which has
            // just started: it belongs to another one on a shared log).
            guard session.isEnded else { continue }
            let hashLogged = try await store.events(sessionID: sessionID).contains(where: { $0.kind == .recordingClosed })
            guard !hashLogged else { continue }
            let path = directory + "/" + name
            let sealed: Sealed
            do {
                sealed = try await NIOThreadPool.singleton.runIfActive { try Self.seal(path: path) }
            } catch {
                logger.error("Cannot recover a recording", metadata: ["tandem.session.id": "\(sessionID)", "error": "\(error)"])
                continue
            }
            try await store.recordEvent(
                sessionID: sessionID,
                kind: .recordingClosed,
                actor: "broker",
                detail: [
                    "file": name, "bytes": String(sealed.bytes), "sha256": sealed.sha256, "frames": String(sealed.frames),
                    "controls": String(sealed.controls), "recovered": "broker-crash", "truncatedBytes": String(sealed.truncatedBytes),
                ],
                at: Date()
            )
            logger.warning(
                "Closed the recording of a session a broker that died left open",
                metadata: [
                    "tandem.session.id": "\(sessionID)", "tandem.recording.bytes": "\(sealed.bytes)",
                    "tandem.recording.truncated": "\(sealed.truncatedBytes)",
                ]
            )
            recovered += 1
        }
        return recovered
    }

    /// Cuts the file at `path` after its last whole, valid entry (completing a torn magic),
    /// syncs it and hashes it. Blocking: run it on a thread pool.
    static func seal(path: String) throws -> Sealed {
        let descriptor = open(path, O_RDWR | O_CLOEXEC)
        guard descriptor >= 0 else { throw RecoveryError(description: "cannot open \(path): errno \(errno)") }
        defer { close(descriptor) }
        let size = Int64(lseek(descriptor, 0, SEEK_END))
        guard size >= 0 else { throw RecoveryError(description: "cannot read \(path): errno \(errno)") }

        let magic = RecordingEntry.magic
        let head = try read(descriptor, at: 0, count: min(Int(size), magic.count))
        guard head == Array(magic.prefix(head.count)) else { throw RecoveryError(description: "\(path) is not a Tandem recording") }
        if head.count < magic.count {
            // Killed while the file was being created: an empty recording.
            try writeAll(descriptor, magic, at: 0)
        }

        var end = Int64(magic.count)
        var frames = 0
        var controls = 0
        // Entry by entry, with the reader's own decoder (§19): the first entry it would refuse
        // or that is not whole ends what is kept.
        let headerLength = RecordingEntry.headerLength
        while end + Int64(headerLength) <= size {
            let header = try read(descriptor, at: end, count: headerLength)
            guard header.count == headerLength else { break }
            let length = header[10..<14].reduce(0 as Int) { ($0 << 8) | Int($1) }
            guard length <= RecordingEntry.maxPayload, end + Int64(headerLength + length) <= size else { break }
            var buffer = ByteBuffer(bytes: header + (try read(descriptor, at: end + Int64(headerLength), count: length)))
            guard case .some(let entry) = try? RecordingEntry.decode(from: &buffer) else { break }
            switch entry {
            case .media: frames += 1
            case .control: controls += 1
            }
            end += Int64(headerLength + length)
        }
        let kept = max(end, Int64(magic.count))
        let truncated = max(size - kept, 0)
        if truncated > 0, ftruncate(descriptor, off_t(kept)) != 0 {
            throw RecoveryError(description: "cannot truncate \(path): errno \(errno)")
        }
        _ = fsync(descriptor)

        var hasher = SHA256()
        var offset: Int64 = 0
        while offset < kept {
            let chunk = try read(descriptor, at: offset, count: Int(min(Int64(1 << 20), kept - offset)))
            guard !chunk.isEmpty else { throw RecoveryError(description: "\(path) ended while it was hashed") }
            chunk.withUnsafeBytes { hasher.update(bufferPointer: $0) }
            offset += Int64(chunk.count)
        }
        return Sealed(bytes: kept, sha256: hasher.finalize().lowercaseHex, frames: frames, controls: controls, truncatedBytes: truncated)
    }

    /// Up to `count` bytes at `offset` (fewer at the end of the file).
    private static func read(_ descriptor: Int32, at offset: Int64, count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = bytes.withUnsafeMutableBytes { buffer in
                pread(descriptor, buffer.baseAddress! + filled, count - filled, off_t(offset + Int64(filled)))
            }
            if got < 0 {
                if errno == EINTR { continue }
                throw RecoveryError(description: "read failed: errno \(errno)")
            }
            if got == 0 { break }
            filled += got
        }
        return Array(bytes.prefix(filled))
    }

    private static func writeAll(_ descriptor: Int32, _ bytes: [UInt8], at offset: Int64) throws {
        var done = 0
        while done < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                pwrite(descriptor, buffer.baseAddress! + done, bytes.count - done, off_t(offset + Int64(done)))
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw RecoveryError(description: "write failed: errno \(errno)")
            }
            done += written
        }
    }
}
