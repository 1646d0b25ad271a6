#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Broker → participants: the session is being handed to another agent (`pending`, to the
/// customer and to the agent handing it over, whose connection then closes with 4302), or
/// the next agent took it (`completed`, to the customer, with `agent`).
/// See [protocol/README.md § Transfer](../../protocol/README.md#17-transfer-and-escalation).
public struct SessionTransferred: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable {
        case pending
        case completed
    }

    public var sessionID: String
    public var state: State
    /// The agent who handed the session over.
    public var from: String
    /// Where it goes: a line, or a named agent.
    public var line: String?
    public var toAgent: String?
    /// `completed`: the agent now in the session.
    public var agent: String?
    /// `pending`: when the session ends (`transfer-unanswered`) if nobody takes it.
    public var until: Date?
    /// `completed`, to the customer: what the new agent's client decodes (§5.1), if it said.
    public var codecs: CodecList?

    enum CodingKeys: String, CodingKey {
        case sessionID = "sessionId"
        case state, from, line, toAgent, agent, until, codecs
    }

    public init(
        sessionID: String,
        state: State,
        from: String,
        line: String? = nil,
        toAgent: String? = nil,
        agent: String? = nil,
        until: Date? = nil,
        codecs: CodecList? = nil
    ) {
        self.codecs = codecs
        self.sessionID = sessionID
        self.state = state
        self.from = from
        self.line = line
        self.toAgent = toAgent
        self.agent = agent
        self.until = until
    }
}
