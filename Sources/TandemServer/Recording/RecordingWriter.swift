import Crypto
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import TandemCore
import TandemProtocol

#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Writes session recordings (protocol/README.md §19): one append-only `.tdrec` file per
/// recorded session under `DATA/recordings`, fed through one bounded queue so the relay
/// never waits for the disk. On close the file's SHA-256 (hashed while writing) goes into
/// the audit chain as `recording.closed`. `tandem_recording_bytes_total` counts the bytes
/// written, `tandem_recording_frames_dropped_total` the entries the full queue refused.
final class RecordingWriter: Service, Sendable {
    enum Command: Sendable {
        case open(sessionID: String)
        case append(sessionID: String, entry: RecordingEntry)
        case close(sessionID: String, dropped: Int)
    }

    let directory: String
    let store: any TandemStore
    let logger: Logger
    let metrics: BrokerMetrics?
    private let commands: AsyncStream<Command>
    private let sink: AsyncStream<Command>.Continuation

    init(directory: String, store: any TandemStore, capacity: Int, logger: Logger, metrics: BrokerMetrics? = nil) {
        self.directory = directory
        self.store = store
        self.logger = logger
        self.metrics = metrics
        (commands, sink) = AsyncStream.makeStream(bufferingPolicy: .bufferingOldest(capacity))
    }

    /// Queues `command`; false when the queue is full (the entry is lost and counted).
    func send(_ command: Command) -> Bool {
        if case .enqueued = sink.yield(command) { return true }
        switch command {
        case .open, .append: metrics?.recordingDropped.increment()
        // Not lost: the session tries again until there is room.
        case .close: break
        }
        return false
    }

    static func path(directory: String, sessionID: String) -> String {
        directory + "/" + sessionID + ".tdrec"
    }

    func run() async throws {
        // Recordings show customers' screens: the folder is the broker user's only (0700),
        // and each file is created 0600.
        try PrivateFile.makeDirectory(directory)
        let files = OpenFiles()
        await withGracefulShutdownHandler {
            // After shutdown starts the queue still drains: sessions ended by the shutdown
            // close their recordings before the final checkpoint is signed.
            for await command in commands { await handle(command, files: files) }
        } onGracefulShutdown: { [sink] in
            sink.finish()
        }
        for sessionID in files.open.keys { await handle(.close(sessionID: sessionID, dropped: 0), files: files) }
    }

    /// The open files; only the run loop touches them.
    private final class OpenFiles: @unchecked Sendable {
        struct File {
            var descriptor: Int32
            var hasher = SHA256()
            var bytes = 0
            var frames = 0
            var controls = 0
        }
        var open: [String: File] = [:]
    }

    private func handle(_ command: Command, files: OpenFiles) async {
        do {
            switch command {
            case .open(let sessionID):
                let path = Self.path(directory: directory, sessionID: sessionID)
                let descriptor = try await NIOThreadPool.singleton.runIfActive { open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600) }
                guard descriptor >= 0 else { throw RecordingError(description: "cannot create \(path): errno \(errno)") }
                var file = OpenFiles.File(descriptor: descriptor)
                try await write(ByteBuffer(bytes: RecordingEntry.magic), to: &file)
                files.open[sessionID] = file
            case .append(let sessionID, let entry):
                guard var file = files.open[sessionID] else { return }
                var buffer = ByteBuffer()
                if case .media(let owner, let time, let message) = entry {
                    // The header alone is built; the frame's bytes are written as they arrived.
                    RecordingEntry.writeHeader(kind: 1, owner: owner, time: time, length: message.readableBytes, into: &buffer)
                    try await write(buffer, to: &file)
                    try await write(message, to: &file)
                    file.frames += 1
                } else {
                    entry.encode(into: &buffer)
                    try await write(buffer, to: &file)
                    file.controls += 1
                }
                files.open[sessionID] = file
            case .close(let sessionID, let dropped):
                guard let file = files.open.removeValue(forKey: sessionID) else { return }
                let descriptor = file.descriptor
                try await NIOThreadPool.singleton.runIfActive {
                    fsync(descriptor)
                    close(descriptor)
                }
                let digest = file.hasher.finalize().lowercaseHex
                try await store.recordEvent(
                    sessionID: sessionID,
                    kind: .recordingClosed,
                    actor: "broker",
                    detail: [
                        "file": sessionID + ".tdrec", "bytes": String(file.bytes), "sha256": digest, "frames": String(file.frames),
                        "controls": String(file.controls), "dropped": String(dropped),
                    ],
                    at: Date()
                )
            }
        } catch {
            logger.error("Recording failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
        }
    }

    private func write(_ buffer: ByteBuffer, to file: inout OpenFiles.File) async throws {
        let descriptor = file.descriptor
        try await NIOThreadPool.singleton.runIfActive {
            try buffer.withUnsafeReadableBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw RecordingError(description: "write failed: errno \(errno)")
                    }
                    offset += written
                }
            }
        }
        buffer.withUnsafeReadableBytes { file.hasher.update(bufferPointer: $0) }
        file.bytes += buffer.readableBytes
        metrics?.recordingBytes.increment(by: buffer.readableBytes)
    }

    struct RecordingError: Error, CustomStringConvertible {
        let description: String
    }
}
