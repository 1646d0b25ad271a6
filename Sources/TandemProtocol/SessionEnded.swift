/// Broker → participants: the session is over. The broker closes the connection with 1000 right after.
///
/// See [protocol/README.md § session.ended](../../protocol/README.md#57-sessionended).
public struct SessionEnded: Sendable, Equatable, Codable {
    public var sessionID: String
    public var reason: EndReason
    /// The agent's outcome, when one has been recorded.
    public var outcome: SessionOutcome?
    /// The customer's copy of a session it joined: the post-session survey (§5.16).
    public var survey: SurveyOffer?

    enum CodingKeys: String, CodingKey {
        case sessionID = "sessionId"
        case reason, outcome, survey
    }

    public init(sessionID: String, reason: EndReason, outcome: SessionOutcome?, survey: SurveyOffer? = nil) {
        self.sessionID = sessionID
        self.reason = reason
        self.outcome = outcome
        self.survey = survey
    }
}
