/// Broker → agent that took a session from a queue (§16): a waiting customer, or a session
/// another agent transferred (§17). For a transfer the peer's streams and every overlay
/// follow, as after a resume.
/// See [protocol/README.md § Queue](../../protocol/README.md#16-queue).
public struct SessionAssigned: Sendable, Equatable, Codable {
    public var sessionID: String
    public var ticket: String
    public var mode: SessionMode
    public var line: String
    /// The customer's tier.
    public var tier: SupportTier
    /// Whole seconds the customer (or the transferred session) waited in the queue.
    public var waitedSeconds: Int
    /// Whether the customer is connected now.
    public var customerPresent: Bool
    /// For a transfer: the agent who handed the session over, and its note.
    public var transferredFrom: String?
    public var note: String?
    /// Lets this agent reconnect after a dropped connection (§5.13).
    public var resumeToken: String
    /// What the customer decodes (§5.1), when it is connected and said so.
    public var codecs: CodecList?

    enum CodingKeys: String, CodingKey {
        case sessionID = "sessionId"
        case ticket, mode, line, tier, waitedSeconds, customerPresent, transferredFrom, note, resumeToken, codecs
    }

    public init(
        sessionID: String,
        ticket: String,
        mode: SessionMode,
        line: String,
        tier: SupportTier,
        waitedSeconds: Int,
        customerPresent: Bool,
        transferredFrom: String? = nil,
        note: String? = nil,
        resumeToken: String,
        codecs: CodecList? = nil
    ) {
        self.codecs = codecs
        self.sessionID = sessionID
        self.ticket = ticket
        self.mode = mode
        self.line = line
        self.tier = tier
        self.waitedSeconds = waitedSeconds
        self.customerPresent = customerPresent
        self.transferredFrom = transferredFrom
        self.note = note
        self.resumeToken = resumeToken
    }
}
