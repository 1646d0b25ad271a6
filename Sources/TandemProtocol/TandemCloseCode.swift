/// WebSocket close codes the broker uses. See [protocol/README.md § Close codes](../../protocol/README.md#6-close-codes).
public enum TandemCloseCode: UInt16, Sendable, CaseIterable {
    /// The session ended normally; `session.ended` was sent first.
    case normal = 1000
    /// The broker is shutting down.
    case goingAway = 1001
    /// The peer broke the WebSocket protocol (sent by the WebSocket library; 1007 for text
    /// that is not UTF-8).
    case protocolError = 1002
    /// A message was larger than the broker's limit.
    case messageTooBig = 1009
    /// The broker holds too many unused join codes; the agent may start a session later.
    case tryAgainLater = 1013
    /// An unexpected broker failure.
    case internalError = 1011
    /// The first message was not a valid `hello`, a control message was malformed,
    /// or a binary frame header was invalid.
    case badRequest = 4400
    /// The API token is missing, unknown or revoked.
    case unauthorized = 4401
    /// The token's role may not do what the hello asked.
    case forbidden = 4403
    /// No session has this join code.
    case unknownCode = 4404
    /// No `hello` arrived within the handshake timeout.
    case helloTimeout = 4408
    /// The join code was already used.
    case codeUsed = 4409
    /// The join code expired before it was used.
    case codeExpired = 4410
    /// No message in either direction for the idle timeout.
    case idle = 4413
    /// The connection sent messages faster than its rate limit.
    case rateLimited = 4429
    /// The resume token is unknown, or its session ended or its grace period passed.
    case resumeRefused = 4411
    /// A newer connection of the same participant resumed the session.
    case replaced = 4412
    /// The code belongs to a session on another broker of the deployment; the `error`
    /// before the close carries that broker's URL in `redirect`.
    case otherBroker = 4421
    /// Too many failed joins from this network, or on the whole broker, lately: the code was
    /// not checked. The `error` before the close says when to try again.
    case joinThrottled = 4430
    /// `queue`: this network already holds its most entries in the queue (§16).
    case queueLimit = 4431
    /// `queue`: the help link's signature is invalid, or the link expired (§16.1).
    case helpLinkRefused = 4432
    /// The hello asked for a protocol version the broker does not speak.
    case unsupportedVersion = 4426
    /// `watch`: no live session with that id on this broker (§18).
    case unknownSession = 4415
    /// `take`: the queue has nothing for this agent now.
    case queueEmpty = 4204
    /// The agent handed the session over (§17); `session.transferred` was sent first. The
    /// session goes on without this connection.
    case handedOver = 4302
    /// The recipient read too slowly: its queue of control messages passed the hard limit.
    case slowConsumer = 4503

    /// Short reason text sent with the close frame.
    public var reason: String {
        switch self {
        case .normal: "session ended"
        case .goingAway: "broker going away"
        case .protocolError: "protocol error"
        case .messageTooBig: "message too big"
        case .tryAgainLater: "too many unused join codes"
        case .internalError: "internal error"
        case .badRequest: "bad request"
        case .unauthorized: "unauthorized"
        case .forbidden: "forbidden"
        case .unknownCode: "unknown join code"
        case .helloTimeout: "hello timeout"
        case .codeUsed: "join code already used"
        case .codeExpired: "join code expired"
        case .idle: "idle for too long"
        case .rateLimited: "too many messages"
        case .resumeRefused: "cannot resume"
        case .replaced: "replaced by a newer connection"
        case .otherBroker: "join at another broker"
        case .joinThrottled: "too many failed join attempts"
        case .queueLimit: "too many queue entries from this network"
        case .helpLinkRefused: "help link invalid or expired"
        case .unsupportedVersion: "unsupported protocol version"
        case .slowConsumer: "too slow: control queue over its limit"
        case .queueEmpty: "nothing waiting in the queue"
        case .unknownSession: "no such live session"
        case .handedOver: "session handed over"
        }
    }
}
