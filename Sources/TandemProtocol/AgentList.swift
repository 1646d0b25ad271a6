/// Body of `GET /v1/agents` (protocol/README.md §20.1): the agents on this broker's floor —
/// present ones in their state, and those with live sessions but no presence connection as
/// `offline` — and the transfer reasons (§20.5).
public struct AgentList: Sendable, Equatable, Codable {
    public var agents: [FloorState.Agent]
    public var transferReasons: [String]

    public init(agents: [FloorState.Agent], transferReasons: [String]) {
        self.agents = agents
        self.transferReasons = transferReasons
    }
}

/// Optional body of `POST /v1/console-tokens`: how long the sign-in lasts (60 s to 12 h;
/// 15 minutes when absent). `tandem floor` asks for a shift.
public struct ConsoleTokenRequest: Sendable, Equatable, Codable {
    public static let lifetimeRange = 60...43_200

    public var lifetimeSeconds: Int?

    public init(lifetimeSeconds: Int? = nil) {
        self.lifetimeSeconds = lifetimeSeconds
    }
}
