/// Broker → customer: the code was accepted and the agent is connected.
///
/// See [protocol/README.md § session.joined](../../protocol/README.md#53-sessionjoined).
public struct SessionJoined: Sendable, Equatable, Codable {
    public var sessionID: String
    public var ticket: String
    public var mode: SessionMode
    /// The display name of the agent the customer is talking to.
    public var agent: String
    /// Lets this customer reconnect to the session after a dropped connection (§5.13).
    public var resumeToken: String?
    /// The agent asks to record the session (§19): the consent question must say so.
    public var recording: Bool?
    /// What the agent's client decodes (§5.1); absent for an old client (images only).
    public var codecs: CodecList?

    enum CodingKeys: String, CodingKey {
        case sessionID = "sessionId"
        case ticket, mode, agent, resumeToken, recording, codecs
    }

    public init(
        sessionID: String,
        ticket: String,
        mode: SessionMode,
        agent: String,
        resumeToken: String? = nil,
        recording: Bool? = nil,
        codecs: CodecList? = nil
    ) {
        self.codecs = codecs
        self.resumeToken = resumeToken
        self.recording = recording
        self.sessionID = sessionID
        self.ticket = ticket
        self.mode = mode
        self.agent = agent
    }
}
