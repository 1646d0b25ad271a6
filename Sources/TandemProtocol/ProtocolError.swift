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
    public var identifier: ErrorCode {
        switch code {
        case .truncatedFrame: .truncatedFrame
        case .payloadLengthMismatch: .payloadLengthMismatch
        case .unsupportedFrameVersion: .unsupportedFrameVersion
        case .badHeaderLength: .badHeaderLength
        case .unknownFrameKind: .unknownFrameKind
        case .unknownCodec: .unknownCodec
        case .malformedControlMessage: .malformedMessage
        case .unknownMessageType: .unknownType
        case .invalidField: .invalidField
        case .malformedRecording: .malformedRecording
        }
    }

    public var description: String {
        if let detail { "\(identifier): \(detail)" } else { identifier.rawValue }
    }
}
