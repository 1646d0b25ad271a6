/// A violation of the wire protocol found while decoding.
///
/// Carries no message content, so it is safe to log. Each error maps to the
/// documented close code the broker sends (see ``TandemCloseCode``).
public struct ProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case truncatedFrame
        case payloadLengthMismatch
        case unsupportedFrameVersion
        case badHeaderLength
        case unknownFrameKind
        case unknownCodec
        case malformedControlMessage
        case unknownMessageType
        case invalidField
        case malformedRecording
    }

    private let code: Code
    /// For `unknownMessageType` and `invalidField`: the type or field name (never a value).
    public let detail: String?

    private init(_ code: Code, detail: String?) {
        self.code = code
        self.detail = detail
    }

    public static let truncatedFrame = ProtocolError(.truncatedFrame, detail: nil)
    public static let payloadLengthMismatch = ProtocolError(.payloadLengthMismatch, detail: nil)
    public static let unsupportedFrameVersion = ProtocolError(.unsupportedFrameVersion, detail: nil)
    public static let badHeaderLength = ProtocolError(.badHeaderLength, detail: nil)
    public static let unknownFrameKind = ProtocolError(.unknownFrameKind, detail: nil)
    public static let unknownCodec = ProtocolError(.unknownCodec, detail: nil)
    public static let malformedControlMessage = ProtocolError(.malformedControlMessage, detail: nil)
    public static func unknownMessageType(_ type: String) -> ProtocolError {
        ProtocolError(.unknownMessageType, detail: String(type.prefix(64)))
    }
    public static func invalidField(_ name: String) -> ProtocolError { ProtocolError(.invalidField, detail: name) }
    /// A recording file entry with an unknown kind or owner, or an impossible length (§19).
    public static let malformedRecording = ProtocolError(.malformedRecording, detail: nil)


    /// The stable identifier used in `error` messages and close reasons, e.g. `bad-frame-length`.
    public var identifier: String {
        switch code {
        case .truncatedFrame: "truncated-frame"
        case .payloadLengthMismatch: "payload-length-mismatch"
        case .unsupportedFrameVersion: "unsupported-frame-version"
        case .badHeaderLength: "bad-header-length"
        case .unknownFrameKind: "unknown-frame-kind"
        case .unknownCodec: "unknown-codec"
        case .malformedControlMessage: "malformed-message"
        case .unknownMessageType: "unknown-type"
        case .invalidField: "invalid-field"
        case .malformedRecording: "malformed-recording"
        }
    }

    public var description: String {
        if let detail { "\(identifier): \(detail)" } else { identifier }
    }
}
