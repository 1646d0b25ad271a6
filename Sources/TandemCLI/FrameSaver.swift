import Foundation
import NIOConcurrencyHelpers
import NIOCore
import TandemClient
import TandemProtocol

/// Writes received frames to a folder (`--save-frames DIR`): images as
/// `<owner>-s<stream>-<sequence>.<ext>`; each video or audio stream as one file that ffmpeg
/// and VLC play (``StreamFile``): VP8, VP9 and AV1 as `<owner>-s<stream>.ivf`, H.264 as
/// `<owner>-s<stream>.h264` (Annex-B), Opus as `<owner>-s<stream>.opus` (Ogg Opus). A stream
/// announced again (`stream.start`) goes on in a new file, `-2`, `-3`, ….
final class FrameSaver: Sendable {
    let directory: String
    private struct Files {
        var open: [String: StreamFile] = [:]
        /// How often each stream was announced again (its later files are `-2`, `-3`, …).
        var restarts: [String: Int] = [:]
        /// Streams whose file could not be written.
        var failed: Set<String> = []
        /// What each file closed so far holds, by path.
        var closed: [String: StreamFile.Summary] = [:]
    }
    private let files = NIOLockedValueBox(Files())
    /// The last `stream.start` of each stream: the size for an IVF header, the channels and
    /// sample rate for an Ogg Opus header.
    private let announced = NIOLockedValueBox<[String: StreamStart]>([:])

    init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.directory = directory
    }

    deinit {
        close()
    }

    /// A stream (re)starts: its announcement goes into its file's header, and a stream
    /// announced again starts a new file (its codec may have changed).
    func started(_ start: StreamStart, from owner: ParticipantRole) {
        let key = "\(owner.rawValue)-s\(start.streamID)"
        announced.withLockedValue { $0[key] = start }
        files.withLockedValue { files in
            guard let file = files.open[key] else { return }
            file.close()
            files.closed[file.path] = file.summary
            files.open[key] = nil
            files.restarts[key, default: 0] += 1
        }
    }

    func save(_ frame: MediaFrame, from owner: ParticipantRole) {
        if StreamFile.fileExtension(frame.header.codec) != nil {
            appendToStream(frame, from: owner)
            return
        }
        let name = Self.baseName(frame, from: owner) + "." + Self.fileExtension(frame.header.codec)
        let bytes = frame.payload.readableBytesView
        FileManager.default.createFile(atPath: directory + "/" + name, contents: Data(bytes))
    }

    /// What each stream file holds (path, codec, frames, seconds of audio), by path.
    var streamFiles: [StreamFile.Summary] {
        let summaries = files.withLockedValue { Array($0.closed.values) + $0.open.values.map(\.summary) }
        return summaries.sorted { $0.path < $1.path }
    }

    /// Closes the open stream files (they are whole already); later frames of their streams
    /// go into new files (`-2`, …).
    func close() {
        files.withLockedValue { files in
            for (key, file) in files.open {
                file.close()
                files.closed[file.path] = file.summary
                files.restarts[key, default: 0] += 1
            }
            files.open = [:]
        }
    }

    /// At most this many stream files are open at once: a peer cannot exhaust the descriptors
    /// with frames on ever new stream ids.
    static let maximumOpenFiles = 32

    /// Appends `frame` to its stream's file, created with the stream's first frame. A stream
    /// whose file cannot be written (disk full) is no longer saved; a frame of another codec
    /// than its file's (without a new `stream.start`) is left out.
    private func appendToStream(_ frame: MediaFrame, from owner: ParticipantRole) {
        let key = "\(owner.rawValue)-s\(frame.header.streamID)"
        let start = announced.withLockedValue { $0[key] }
        files.withLockedValue { files in
            guard !files.failed.contains(key) else { return }
            if files.open[key] == nil {
                guard files.open.count < Self.maximumOpenFiles, let ext = StreamFile.fileExtension(frame.header.codec) else { return }
                let restart = files.restarts[key].map { "-\($0 + 1)" } ?? ""
                let path = directory + "/" + key + restart + "." + ext
                guard let file = StreamFile(path: path, codec: frame.header.codec, announced: start) else {
                    files.failed.insert(key)
                    return
                }
                files.open[key] = file
            }
            guard var file = files.open[key] else { return }
            do {
                guard try file.append(frame) else { return }
            } catch {
                file.close()
                files.closed[file.path] = file.summary
                files.open[key] = nil
                files.failed.insert(key)
                return
            }
            files.open[key] = file
        }
    }

    /// `OWNER-sSTREAM-SEQUENCE` (ten digits), the name of a frame without its extension.
    static func baseName(_ frame: MediaFrame, from owner: ParticipantRole) -> String {
        let sequence = String(frame.header.sequence)
        return "\(owner.rawValue)-s\(frame.header.streamID)-\(String(repeating: "0", count: max(0, 10 - sequence.count)))\(sequence)"
    }

    /// The extension of one frame saved as it was sent (`tandem replay`'s `frames/`).
    static func fileExtension(_ codec: MediaCodec) -> String {
        switch codec {
        case .jpeg: "jpg"
        case .png: "png"
        case .webp: "webp"
        // One access unit, frame or packet per file, as received (streams of these are saved
        // as one file each, ``StreamFile``).
        case .h264: "h264"
        case .vp8: "vp8"
        case .vp9: "vp9"
        case .av1: "obu"
        case .opus: "opus"
        }
    }
}
