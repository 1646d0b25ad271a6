/// Broker → participants: the session is over. The broker closes the connection with 1000 right after.
///
/// See [protocol/README.md § session.ended](../../protocol/README.md#57-sessionended).
public struct SessionEnded: Sendable, Equatable, Codable {
    public var sessionID: String
    public var reason: EndReason
    /// The agent's outcome, when one has been recorded.
    public var outcome: SessionOutcome?

    enum CodingKeys: String, CodingKey {
        case sessionID = "sessionId"
        case reason, outcome
    }

    public init(sessionID: String, reason: EndReason, outcome: SessionOutcome?) {
        self.sessionID = sessionID
        self.reason = reason
        self.outcome = outcome
    }
}
