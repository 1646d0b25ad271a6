import Foundation
import NIOConcurrencyHelpers
import NIOCore
import TandemClient
import TandemProtocol

/// Writes received frames to a folder (`--save-frames DIR`): images as
/// `<owner>-s<stream>-<sequence>.<ext>`; each VP8, VP9 or AV1 stream as one
/// `<owner>-s<stream>.ivf` that ffmpeg and VLC play; H.264 (Annex-B) and Opus packets one
/// file per frame, as received.
final class FrameSaver: Sendable {
    let directory: String
    private struct VideoFile {
        var handle: FileHandle
        var frames: UInt32
        var firstTimestamp: UInt64
    }
    private struct VideoFiles {
        var open: [String: VideoFile] = [:]
        /// How often each stream was announced again (its later files are `-2`, `-3`, …).
        var restarts: [String: Int] = [:]
        /// Streams whose file could not be written.
        var failed: Set<String> = []
    }
    private let videoFiles = NIOLockedValueBox(VideoFiles())
    /// Sizes announced by `stream.start`, for the IVF header.
    private let sizes = NIOLockedValueBox<[String: (width: Int, height: Int)]>([:])

    init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.directory = directory
    }

    deinit {
        for file in videoFiles.withLockedValue({ Array($0.open.values) }) { try? file.handle.close() }
    }

    /// A stream (re)starts: its announced size goes into its IVF header, and a stream
    /// announced again starts a new file (its codec may have changed).
    func started(_ start: StreamStart, from owner: ParticipantRole) {
        let key = "\(owner.rawValue)-s\(start.streamID)"
        sizes.withLockedValue { $0[key] = (start.width, start.height) }
        videoFiles.withLockedValue { files in
            guard let file = files.open[key] else { return }
            try? file.handle.close()
            files.open[key] = nil
            files.restarts[key, default: 0] += 1
        }
    }

    func save(_ frame: MediaFrame, from owner: ParticipantRole) {
        if IVFFile.fourCC(frame.header.codec) != nil {
            appendVideo(frame, from: owner)
            return
        }
        let name = Self.baseName(frame, from: owner) + "." + Self.fileExtension(frame.header.codec)
        let bytes = frame.payload.readableBytesView
        FileManager.default.createFile(atPath: directory + "/" + name, contents: Data(bytes))
    }

    /// At most this many IVF files are open at once: a peer cannot exhaust the descriptors
    /// with frames on ever new stream ids.
    static let maximumOpenFiles = 32

    /// Appends `frame` to its stream's IVF file (timestamps in µs from the stream's first
    /// frame), and keeps the header's frame count up to date. A stream whose file cannot be
    /// written (disk full) is no longer saved.
    private func appendVideo(_ frame: MediaFrame, from owner: ParticipantRole) {
        let key = "\(owner.rawValue)-s\(frame.header.streamID)"
        let size = sizes.withLockedValue { $0[key] } ?? (width: 0, height: 0)
        videoFiles.withLockedValue { files in
            guard !files.failed.contains(key) else { return }
            if files.open[key] == nil {
                guard files.open.count < Self.maximumOpenFiles else { return }
                let restart = files.restarts[key].map { "-\($0 + 1)" } ?? ""
                let path = directory + "/" + key + restart + ".ivf"
                let header = IVFFile.header(codec: frame.header.codec, width: size.width, height: size.height, frameCount: 0)
                guard FileManager.default.createFile(atPath: path, contents: Data(header.readableBytesView)),
                    let handle = FileHandle(forWritingAtPath: path)
                else {
                    files.failed.insert(key)
                    return
                }
                files.open[key] = VideoFile(handle: handle, frames: 0, firstTimestamp: frame.header.timestampMicros)
            }
            guard var file = files.open[key] else { return }
            let timestamp = frame.header.timestampMicros >= file.firstTimestamp ? frame.header.timestampMicros - file.firstTimestamp : 0
            let record = IVFFile.frameRecord(frame.payload, timestampMicros: timestamp)
            var count = ByteBuffer()
            count.writeInteger(file.frames + 1, endianness: .little)
            do {
                try file.handle.seekToEnd()
                try file.handle.write(contentsOf: Data(record.readableBytesView))
                try file.handle.seek(toOffset: 24)
                try file.handle.write(contentsOf: Data(count.readableBytesView))
            } catch {
                try? file.handle.close()
                files.open[key] = nil
                files.failed.insert(key)
                return
            }
            file.frames += 1
            files.open[key] = file
        }
    }

    /// `OWNER-sSTREAM-SEQUENCE` (ten digits), the name of a frame without its extension.
    static func baseName(_ frame: MediaFrame, from owner: ParticipantRole) -> String {
        let sequence = String(frame.header.sequence)
        return "\(owner.rawValue)-s\(frame.header.streamID)-\(String(repeating: "0", count: max(0, 10 - sequence.count)))\(sequence)"
    }

    static func fileExtension(_ codec: MediaCodec) -> String {
        switch codec {
        case .jpeg: "jpg"
        case .png: "png"
        case .webp: "webp"
        case .h264: "h264"
        // As received, one frame or packet per file (streams of these go into IVF files).
        case .vp8: "vp8"
        case .vp9: "vp9"
        case .av1: "obu"
        case .opus: "opus"
        }
    }
}
