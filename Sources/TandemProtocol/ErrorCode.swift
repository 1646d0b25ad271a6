/// The `code` of an `error` message: the identifiers of protocol/README.md §8, one constant
/// each, so the broker never spells one by hand. On the wire it is the plain string; a code
/// this version does not know (from a newer broker) decodes as itself.
public struct ErrorCode: WireIdentifier {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public static let audioFrameTooLarge: ErrorCode = "audio-frame-too-large"
    public static let badHeaderLength: ErrorCode = "bad-header-length"
    public static let badRequest: ErrorCode = "bad-request"
    public static let codeExpired: ErrorCode = "code-expired"
    public static let codeUsed: ErrorCode = "code-used"
    public static let consentRequired: ErrorCode = "consent-required"
    public static let forbidden: ErrorCode = "forbidden"
    public static let forbiddenField: ErrorCode = "forbidden-field"
    public static let goingAway: ErrorCode = "going-away"
    public static let handedOver: ErrorCode = "handed-over"
    public static let helloTimeout: ErrorCode = "hello-timeout"
    public static let helpLinkExpired: ErrorCode = "help-link-expired"
    public static let helpLinkInvalid: ErrorCode = "help-link-invalid"
    public static let idle: ErrorCode = "idle"
    public static let internalError: ErrorCode = "internal-error"
    public static let invalidField: ErrorCode = "invalid-field"
    public static let invalidTransfer: ErrorCode = "invalid-transfer"
    public static let joinThrottled: ErrorCode = "join-throttled"
    public static let malformedMessage: ErrorCode = "malformed-message"
    public static let malformedRecording: ErrorCode = "malformed-recording"
    public static let messageTooBig: ErrorCode = "message-too-big"
    public static let noPeer: ErrorCode = "no-peer"
    public static let notAuthor: ErrorCode = "not-author"
    public static let notTransferable: ErrorCode = "not-transferable"
    public static let observer: ErrorCode = "observer"
    public static let offerGone: ErrorCode = "offer-gone"
    public static let presenceThrottled: ErrorCode = "presence-throttled"
    public static let callbackUnavailable: ErrorCode = "callback-unavailable"
    public static let otherBroker: ErrorCode = "other-broker"
    public static let overlayFull: ErrorCode = "overlay-full"
    public static let payloadLengthMismatch: ErrorCode = "payload-length-mismatch"
    public static let protocolError: ErrorCode = "protocol-error"
    public static let queueEmpty: ErrorCode = "queue-empty"
    public static let queueFull: ErrorCode = "queue-full"
    public static let queueLimit: ErrorCode = "queue-limit"
    public static let queueThrottled: ErrorCode = "queue-throttled"
    public static let queued: ErrorCode = "queued"
    public static let rateLimited: ErrorCode = "rate-limited"
    public static let replaced: ErrorCode = "replaced"
    public static let resumeRefused: ErrorCode = "resume-refused"
    public static let resumeThrottled: ErrorCode = "resume-throttled"
    public static let sessionEnded: ErrorCode = "session-ended"
    public static let slowConsumer: ErrorCode = "slow-consumer"
    public static let supervisor: ErrorCode = "supervisor"
    public static let tooManyConnections: ErrorCode = "too-many-connections"
    public static let tooManyPendingCodes: ErrorCode = "too-many-pending-codes"
    public static let tooManyStreams: ErrorCode = "too-many-streams"
    public static let truncatedFrame: ErrorCode = "truncated-frame"
    public static let unauthorized: ErrorCode = "unauthorized"
    public static let unexpectedMessage: ErrorCode = "unexpected-message"
    public static let unknownCode: ErrorCode = "unknown-code"
    public static let unknownCodec: ErrorCode = "unknown-codec"
    public static let unknownFrameKind: ErrorCode = "unknown-frame-kind"
    public static let unknownSession: ErrorCode = "unknown-session"
    public static let unknownShape: ErrorCode = "unknown-shape"
    public static let unknownStream: ErrorCode = "unknown-stream"
    public static let unknownType: ErrorCode = "unknown-type"
    public static let unsupportedFrameVersion: ErrorCode = "unsupported-frame-version"
    public static let unsupportedVersion: ErrorCode = "unsupported-version"
    public static let voiceOff: ErrorCode = "voice-off"

    /// Every code of §8, for checks that the spec and this type agree.
    public static let documented: [ErrorCode] = [
        .audioFrameTooLarge,
        .badHeaderLength,
        .badRequest,
        .codeExpired,
        .codeUsed,
        .consentRequired,
        .forbidden,
        .forbiddenField,
        .goingAway,
        .handedOver,
        .helloTimeout,
        .helpLinkExpired,
        .helpLinkInvalid,
        .idle,
        .internalError,
        .invalidField,
        .invalidTransfer,
        .joinThrottled,
        .malformedMessage,
        .malformedRecording,
        .messageTooBig,
        .noPeer,
        .notAuthor,
        .notTransferable,
        .observer,
        .offerGone,
        .presenceThrottled,
        .callbackUnavailable,
        .otherBroker,
        .overlayFull,
        .payloadLengthMismatch,
        .protocolError,
        .queueEmpty,
        .queueFull,
        .queueLimit,
        .queueThrottled,
        .queued,
        .rateLimited,
        .replaced,
        .resumeRefused,
        .resumeThrottled,
        .sessionEnded,
        .slowConsumer,
        .supervisor,
        .tooManyConnections,
        .tooManyPendingCodes,
        .tooManyStreams,
        .truncatedFrame,
        .unauthorized,
        .unexpectedMessage,
        .unknownCode,
        .unknownCodec,
        .unknownFrameKind,
        .unknownSession,
        .unknownShape,
        .unknownStream,
        .unknownType,
        .unsupportedFrameVersion,
        .unsupportedVersion,
        .voiceOff,
    ]
}
