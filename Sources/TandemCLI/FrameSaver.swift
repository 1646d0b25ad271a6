import Foundation
import TandemProtocol

/// Writes received frames to a folder as `<stream>-<sequence>.<ext>` (`--save-frames DIR`).
struct FrameSaver {
    let directory: String

    init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.directory = directory
    }

    func save(_ frame: MediaFrame, from owner: ParticipantRole) {
        let name = Self.baseName(frame, from: owner) + "." + Self.fileExtension(frame.header.codec)
        let bytes = frame.payload.readableBytesView
        FileManager.default.createFile(atPath: directory + "/" + name, contents: Data(bytes))
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
        // One encoded frame or packet per file, as received (an IVF / Ogg writer is issue 15's).
        case .vp8: "vp8"
        case .vp9: "vp9"
        case .av1: "obu"
        case .opus: "opus"
        }
    }
}
