/// Codec of a media frame payload, byte 4 of the frame header.
///
/// See [protocol/README.md § Binary media frames](../../protocol/README.md#4-binary-media-frames).
public enum MediaCodec: UInt8, Sendable, CaseIterable {
    case jpeg = 1
    case png = 2
    case webp = 3
    /// H.264 in Annex-B byte stream format.
    case h264 = 4

    public var name: String {
        switch self {
        case .jpeg: "jpeg"
        case .png: "png"
        case .webp: "webp"
        case .h264: "h264"
        }
    }
}

/// In JSON (`stream.start`) a codec is its name: `"jpeg"`, `"png"`, `"webp"`, `"h264"`.
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
