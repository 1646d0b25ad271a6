/// Broker → agent on its presence connection (protocol/README.md §20.1): the agent's state
/// as the broker has it. The welcome of a presence connection, sent again on every change.
public struct PresenceStatus: Sendable, Equatable, Codable {
    public var name: String
    public var state: AgentState
    public var lines: [String]
    public var skills: [String]
    public var maxSessions: Int
    /// Its live sessions on this broker.
    public var sessions: Int
    /// The reason codes a transfer may give (§20.5); empty when any reason goes.
    public var transferReasons: [String]
    /// Why the broker changed the state by itself (`missed-offer`).
    public var reason: String?

    public init(
        name: String,
        state: AgentState,
        lines: [String],
        skills: [String],
        maxSessions: Int,
        sessions: Int,
        transferReasons: [String] = [],
        reason: String? = nil
    ) {
        self.name = name
        self.state = state
        self.lines = lines
        self.skills = skills
        self.maxSessions = maxSessions
        self.sessions = sessions
        self.transferReasons = transferReasons
        self.reason = reason
    }
}
