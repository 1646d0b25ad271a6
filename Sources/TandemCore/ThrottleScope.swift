/// Whose budget ran out when a limiter refuses: the client's network's own, or the whole
/// broker's. Logged as the `scope` of `join.throttled`, `resume.throttled` and
/// `queue.throttled` (§3.1, §13.1) and worded in the refusal ("from your network" / "on
/// this service").
public enum ThrottleScope: String, Sendable {
    /// The network used its own budget.
    case network
    /// The broker as a whole used its budget.
    case broker
}
