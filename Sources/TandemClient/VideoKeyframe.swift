import NIOCore
import TandemProtocol

/// Whether an encoded video frame is a keyframe, from the first bytes of its bitstream
/// (for frames that come without the flag, e.g. from an IVF file).
public enum VideoKeyframe {
    public static func isKeyframe(_ payload: ByteBuffer, codec: MediaCodec) -> Bool {
        let bytes = payload.readableBytesView
        guard let first = bytes.first else { return false }
        switch codec {
        case .vp8:
            // RFC 6386 §9.1: frame tag bit 0 is 0 for a key frame.
            return first & 0x01 == 0
        case .vp9:
            return vp9Keyframe(Array(bytes.prefix(2)))
        case .av1:
            return av1Keyframe(payload)
        case .jpeg, .png, .webp, .opus:
            return true
        case .h264:
            return h264Keyframe(Array(bytes))
        }
    }

    /// VP9 uncompressed header (VP9 bitstream spec §6.2): frame_marker (2 bits), profile (2
    /// bits; profile 3 adds a reserved bit), show_existing_frame, then frame_type (0: key).
    static func vp9Keyframe(_ bytes: [UInt8]) -> Bool {
        var reader = BitReader(bytes)
        guard reader.read(2) == 2 else { return false }
        let low = reader.read(1)
        let high = reader.read(1)
        if high == 1 && low == 1 { _ = reader.read(1) }
        guard reader.read(1) == 0 else { return false }  // show_existing_frame: a repeat, not a key frame
        return reader.read(1) == 0
    }

    /// AV1 (low-overhead format): a temporal unit that carries a sequence header starts a
    /// coded video sequence, which encoders do at each key frame (a random access point).
    static func av1Keyframe(_ payload: ByteBuffer) -> Bool {
        var buffer = payload
        while let header = buffer.readInteger(as: UInt8.self) {
            let type = (header >> 3) & 0x0F
            let hasExtension = header & 0x04 != 0
            let hasSize = header & 0x02 != 0
            if hasExtension { _ = buffer.readInteger(as: UInt8.self) }
            if type == 1 { return true }  // OBU_SEQUENCE_HEADER
            guard hasSize, let size = readLEB128(&buffer), size <= UInt64(buffer.readableBytes) else { return false }
            buffer.moveReaderIndex(forwardBy: Int(size))
        }
        return false
    }

    /// H.264 Annex-B: an access unit with an IDR slice (NAL unit type 5).
    static func h264Keyframe(_ bytes: [UInt8]) -> Bool {
        var index = 0
        while index + 3 < bytes.count {
            if bytes[index] == 0, bytes[index + 1] == 0, bytes[index + 2] == 1 {
                if bytes[index + 3] & 0x1F == 5 { return true }
                index += 3
            } else {
                index += 1
            }
        }
        return false
    }

    static func readLEB128(_ buffer: inout ByteBuffer) -> UInt64? {
        var value: UInt64 = 0
        for index in 0..<8 {
            guard let byte = buffer.readInteger(as: UInt8.self) else { return nil }
            value |= UInt64(byte & 0x7F) << (7 * UInt64(index))
            if byte & 0x80 == 0 { return value }
        }
        return nil
    }
}

/// Reads bits most significant first.
struct BitReader {
    private let bytes: [UInt8]
    private var position = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The next `count` bits as an integer; missing bits read as 0.
    mutating func read(_ count: Int) -> Int {
        var value = 0
        for _ in 0..<count {
            let byte = position / 8 < bytes.count ? bytes[position / 8] : 0
            value = value << 1 | Int((byte >> (7 - UInt8(position % 8))) & 1)
            position += 1
        }
        return value
    }
}
