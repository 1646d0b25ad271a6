/// Codec of a media frame payload, byte 4 of the frame header.
///
/// See [protocol/README.md § Binary media frames](../../protocol/README.md#4-binary-media-frames).
public enum MediaCodec: UInt8, Sendable, CaseIterable, Codable {
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
