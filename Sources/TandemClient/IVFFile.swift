import Foundation
import NIOCore
import TandemProtocol

/// An IVF file: the simple container libvpx, ffmpeg and VLC use for VP8, VP9 and AV1
/// (a 32-byte file header, then each frame behind a 12-byte header: its size and its
/// timestamp, little-endian). `tandem join --source FILE.ivf` streams one in a loop;
/// `--save-frames` writes received video streams as one.
public struct IVFFile: Sendable {
    public struct Error: Swift.Error, CustomStringConvertible {
        public let description: String
    }

    public struct Frame: Sendable {
        /// In the file's time base (``timebase``).
        public var timestamp: UInt64
        public var payload: ByteBuffer
        /// Decodable alone (``VideoKeyframe``).
        public var keyframe: Bool
    }

    public var codec: MediaCodec
    public var width: Int
    public var height: Int
    /// Seconds per timestamp unit, as numerator / denominator.
    public var timebase: (numerator: UInt32, denominator: UInt32)
    public var frames: [Frame]

    public static let headerSize = 32
    public static let frameHeaderSize = 12

    /// The four-character code of `codec` in an IVF header, nil for codecs IVF does not carry.
    public static func fourCC(_ codec: MediaCodec) -> String? {
        switch codec {
        case .vp8: "VP80"
        case .vp9: "VP90"
        case .av1: "AV01"
        case .jpeg, .png, .webp, .h264, .opus: nil
        }
    }

    /// Reads a whole IVF file (at most `maximumBytes`, 256 MiB by default).
    public init(contentsOf path: String, maximumBytes: Int = 256 << 20) throws {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path), let size = attributes[.size] as? Int else {
            throw Error(description: "cannot read \(path)")
        }
        guard size <= maximumBytes else { throw Error(description: "\(path) is larger than \(maximumBytes >> 20) MiB") }
        guard let data = FileManager.default.contents(atPath: path) else { throw Error(description: "cannot read \(path)") }
        try self.init(bytes: ByteBuffer(bytes: data))
    }

    public init(bytes: ByteBuffer) throws {
        var buffer = bytes
        guard let signature = buffer.readString(length: 4), signature == "DKIF" else {
            throw Error(description: "not an IVF file (no DKIF signature)")
        }
        guard let version = buffer.readInteger(endianness: .little, as: UInt16.self), version == 0,
            let headerLength = buffer.readInteger(endianness: .little, as: UInt16.self), headerLength >= Self.headerSize,
            let fourCC = buffer.readString(length: 4),
            let width = buffer.readInteger(endianness: .little, as: UInt16.self),
            let height = buffer.readInteger(endianness: .little, as: UInt16.self),
            let denominator = buffer.readInteger(endianness: .little, as: UInt32.self),
            let numerator = buffer.readInteger(endianness: .little, as: UInt32.self),
            buffer.readInteger(endianness: .little, as: UInt32.self) != nil,  // frame count: often wrong; the frames tell
            buffer.readInteger(endianness: .little, as: UInt32.self) != nil,
            buffer.readSlice(length: Int(headerLength) - Self.headerSize) != nil
        else { throw Error(description: "truncated or unsupported IVF header") }
        guard let codec = MediaCodec.allCases.first(where: { Self.fourCC($0) == fourCC }) else {
            throw Error(description: "IVF codec \(fourCC) is not VP8, VP9 or AV1")
        }
        guard (1...16_384).contains(width), (1...16_384).contains(height) else {
            throw Error(description: "IVF picture size \(width)x\(height) is outside 1-16384")
        }
        guard denominator > 0, numerator > 0 else { throw Error(description: "IVF time base \(numerator)/\(denominator) is not valid") }
        var frames: [Frame] = []
        while buffer.readableBytes > 0 {
            guard let length = buffer.readInteger(endianness: .little, as: UInt32.self),
                let timestamp = buffer.readInteger(endianness: .little, as: UInt64.self),
                let count = Int(exactly: length), let payload = buffer.readSlice(length: count)
            else { throw Error(description: "IVF frame \(frames.count + 1) is truncated") }
            frames.append(Frame(timestamp: timestamp, payload: payload, keyframe: VideoKeyframe.isKeyframe(payload, codec: codec)))
        }
        guard !frames.isEmpty else { throw Error(description: "the IVF file has no frames") }
        self.codec = codec
        self.width = Int(width)
        self.height = Int(height)
        self.timebase = (numerator, denominator)
        self.frames = frames
    }

    /// Frames per second, from the timestamps of the frames (the header's time base is often
    /// the frame rate, but not always), or nil when it cannot be told (one frame).
    public var framesPerSecond: Double? {
        guard frames.count > 1, let first = frames.first?.timestamp, let last = frames.last?.timestamp, last > first else { return nil }
        let seconds = Double(last - first) * Double(timebase.numerator) / Double(timebase.denominator)
        return Double(frames.count - 1) / seconds
    }

    /// The 32-byte header of a file of `codec` frames; timestamps in microseconds.
    public static func header(codec: MediaCodec, width: Int, height: Int, frameCount: UInt32) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeString("DKIF")
        buffer.writeInteger(UInt16(0), endianness: .little)
        buffer.writeInteger(UInt16(headerSize), endianness: .little)
        buffer.writeString(fourCC(codec) ?? "VP80")
        buffer.writeInteger(UInt16(clamping: width), endianness: .little)
        buffer.writeInteger(UInt16(clamping: height), endianness: .little)
        buffer.writeInteger(UInt32(1_000_000), endianness: .little)
        buffer.writeInteger(UInt32(1), endianness: .little)
        buffer.writeInteger(frameCount, endianness: .little)
        buffer.writeInteger(UInt32(0), endianness: .little)
        return buffer
    }

    /// One frame's 12-byte header and payload.
    public static func frameRecord(_ payload: ByteBuffer, timestampMicros: UInt64) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(payload.readableBytes), endianness: .little)
        buffer.writeInteger(timestampMicros, endianness: .little)
        var payload = payload
        buffer.writeBuffer(&payload)
        return buffer
    }
}
