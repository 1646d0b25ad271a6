/// Agent → broker (`session.transfer`), or the body of `POST /v1/sessions/{id}/transfer`:
/// hand the live session to a line's queue or to a named agent. Exactly one of `line`
/// and `agent`. See [protocol/README.md § Transfer](../../protocol/README.md#17-transfer-and-escalation).
public struct TransferRequest: Sendable, Equatable, Codable {
    public var line: String?
    public var agent: String?
    /// For the next agent and the log.
    public var note: String?
    /// One of the broker's reason codes (§20.5), when it has a list.
    public var reason: String?

    public static let maxNoteLength = 500

    public init(line: String? = nil, agent: String? = nil, note: String? = nil, reason: String? = nil) {
        self.reason = reason
        self.line = line
        self.agent = agent
        self.note = note
    }
}
