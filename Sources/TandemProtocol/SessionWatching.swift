/// Broker → supervisor that joined a live session (§18). Every stream and overlay of the
/// session follows before any live message.
/// See [protocol/README.md § Supervisors](../../protocol/README.md#18-supervisors).
public struct SessionWatching: Sendable, Equatable, Codable {
    public var sessionID: String
    public var ticket: String
    public var mode: SessionMode
    /// The session's agent now.
    public var agent: String
    public var customerPresent: Bool
    /// Whether this supervisor may draw and chat (else it only observes).
    public var participate: Bool

    enum CodingKeys: String, CodingKey {
        case sessionID = "sessionId"
        case ticket, mode, agent, customerPresent, participate
    }

    public init(sessionID: String, ticket: String, mode: SessionMode, agent: String, customerPresent: Bool, participate: Bool) {
        self.sessionID = sessionID
        self.ticket = ticket
        self.mode = mode
        self.agent = agent
        self.customerPresent = customerPresent
        self.participate = participate
    }
}
