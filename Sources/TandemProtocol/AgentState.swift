/// An agent's state on the support floor (protocol/README.md §20.1). An agent sets
/// `available` or `away` on its presence connection; `busy` and `offline` are what the
/// broker shows for an available agent at its most sessions and for one without a presence
/// connection.
public enum AgentState: String, Sendable, Codable, CaseIterable {
    case available
    case busy
    case away
    case offline

    /// What an agent may choose for itself (`hello.presence`, `presence.set`).
    public var isChoosable: Bool {
        switch self {
        case .available, .away: true
        case .busy, .offline: false
        }
    }
}
