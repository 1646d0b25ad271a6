/// Codec of a media frame payload, byte 4 of the frame header.
///
/// See [protocol/README.md § Binary media frames](../../protocol/README.md#4-binary-media-frames).
public enum MediaCodec: UInt8, Sendable, CaseIterable {
    case jpeg = 1
    case png = 2
    case webp = 3
    /// H.264 in Annex-B byte stream format.
    case h264 = 4
    /// One encoded frame as a WebCodecs `EncodedVideoChunk` holds it.
    case vp8 = 5
    case vp9 = 6
    /// One temporal unit in the low-overhead bitstream format.
    case av1 = 7
    /// One Opus packet (normally 20 ms): audio.
    case opus = 8

    public var name: String {
        switch self {
        case .jpeg: "jpeg"
        case .png: "png"
        case .webp: "webp"
        case .h264: "h264"
        case .vp8: "vp8"
        case .vp9: "vp9"
        case .av1: "av1"
        case .opus: "opus"
        }
    }

    /// Audio frames have a queue lane of their own at each receiver (protocol/README.md §5.9).
    public var isAudio: Bool {
        switch self {
        case .opus: true
        case .jpeg, .png, .webp, .h264, .vp8, .vp9, .av1: false
        }
    }
}

/// In JSON (`stream.start`) a codec is its name: `"jpeg"`, `"png"`, `"webp"`, `"h264"`,
/// `"vp8"`, `"vp9"`, `"av1"`, `"opus"` (protocol/README.md §4.1).
extension MediaCodec: Codable {
    public init(name: String) throws(ProtocolError) {
        guard let codec = MediaCodec.allCases.first(where: { $0.name == name }) else { throw .invalidField("codec") }
        self = codec
    }

    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        try self.init(name: name)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}
