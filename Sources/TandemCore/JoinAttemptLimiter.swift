/// Limits join-code guessing, per source network and for the whole broker.
///
/// Only failed joins count. A network (an IPv4 address, an IPv6 /64) gets
/// ``Limits/failuresBeforeBackoff`` failures; each failure after that makes it wait twice as
/// long as the one before, from ``Limits/firstBackoff`` up to ``Limits/maxBackoff``. It is
/// forgotten ``Limits/memory`` after its last failure or at once when it joins. Across all
/// networks, failures spend a token bucket (``Limits/globalBurst`` tokens, refilled at
/// ``Limits/globalPerSecond``); while it is empty every join is refused. So the broker checks at
/// most ``Limits/maxCheckedFailuresPerDay`` wrong codes a day whatever the number of attackers,
/// which bounds the chance of a successful guess (``Limits/guessProbabilityPerDay(pendingCodes:codeSpace:)``).
///
/// Pure logic: the caller passes the time (seconds on any clock that does not go back) and
/// carries out the result. See [protocol/README.md § Guessing](../../protocol/README.md#31-guessing).
public struct JoinAttemptLimiter: Sendable {
    public struct Limits: Sendable, Equatable {
        /// Failures a network may make before it has to wait.
        public var failuresBeforeBackoff: Int = 5
        /// The wait after the failure that reaches ``failuresBeforeBackoff``; it doubles with each further one.
        public var firstBackoff: Double = 2
        public var maxBackoff: Double = 15 * 60
        /// A network is forgotten this long after its last failure.
        public var memory: Double = 3600
        /// Failed joins the whole broker may check at once, and refilled per second.
        public var globalBurst: Double = 60
        public var globalPerSecond: Double = 0.1
        /// Networks remembered at once; beyond this the longest-quiet one is forgotten
        /// (the broker-wide budget still holds).
        public var maxTrackedNetworks: Int = 100_000

        public init() {}

        /// The most wrong codes the broker checks in 24 hours.
        public var maxCheckedFailuresPerDay: Double { globalBurst + 86_400 * globalPerSecond }

        /// An upper bound on the chance that anyone, with any number of addresses, redeems a
        /// code that was not given to them within one day, when at most `pendingCodes` codes
        /// are unused at any time out of `codeSpace`: each checked guess hits one with
        /// probability at most `pendingCodes / codeSpace`.
        public func guessProbabilityPerDay(pendingCodes: Int, codeSpace: Double) -> Double {
            maxCheckedFailuresPerDay * Double(pendingCodes) / codeSpace
        }
    }

    public enum Scope: String, Sendable {
        /// This network made too many failed attempts.
        case network
        /// The broker as a whole checked too many wrong codes lately.
        case broker
    }

    public enum Decision: Equatable, Sendable {
        case allow
        case refuse(retryAfter: Double, scope: Scope)
    }

    /// What a failure changed; a new wait is worth one line in the audit log.
    public enum FailureResult: Equatable, Sendable {
        case counted(failures: Int)
        case backoffStarted(scope: Scope, failures: Int, seconds: Double)
    }

    struct Network: Equatable, Sendable {
        var failures: Int
        var lastFailure: Double
        var blockedUntil: Double
    }

    public let limits: Limits
    private var networks: [String: Network] = [:]
    private var global: TokenBucket
    /// When the broker-wide budget last ran out and was reported, so an attack that keeps it
    /// empty is reported once per ``Limits/memory``, not at every refill.
    private var globalReportedAt: Double?

    public init(limits: Limits = Limits()) {
        self.limits = limits
        self.global = TokenBucket(rate: limits.globalPerSecond, burst: limits.globalBurst)
    }

    /// Networks currently remembered.
    public var trackedNetworks: Int { networks.count }

    /// Whether an attempt from `network` (nil: unknown address) may be checked at `now`.
    public mutating func check(network: String?, now: Double) -> Decision {
        if let network, let state = networks[network] {
            if now - state.lastFailure >= limits.memory {
                networks[network] = nil
            } else if now < state.blockedUntil {
                return .refuse(retryAfter: state.blockedUntil - now, scope: .network)
            }
        }
        let wait = global.waitForToken(now: now)
        return wait > 0 ? .refuse(retryAfter: wait, scope: .broker) : .allow
    }

    /// Counts a failed attempt that was checked.
    public mutating func failed(network: String?, now: Double) -> FailureResult {
        _ = global.take(now: now)
        var globalWait = global.waitForToken(now: now)
        if globalWait > 0 {
            if let reported = globalReportedAt, now - reported < limits.memory {
                globalWait = 0
            } else {
                globalReportedAt = now
            }
        }
        guard let network else {
            return globalWait > 0 ? .backoffStarted(scope: .broker, failures: 1, seconds: globalWait) : .counted(failures: 1)
        }
        if networks[network] == nil, networks.count >= limits.maxTrackedNetworks { forgetOne(now: now) }
        var state = networks[network] ?? Network(failures: 0, lastFailure: now, blockedUntil: now)
        if now - state.lastFailure >= limits.memory { state = Network(failures: 0, lastFailure: now, blockedUntil: now) }
        state.failures += 1
        state.lastFailure = now
        var result = FailureResult.counted(failures: state.failures)
        let over = state.failures - limits.failuresBeforeBackoff
        if over >= 0 {
            let wait = min(limits.firstBackoff * Double(1 << min(over, 30)), limits.maxBackoff)
            state.blockedUntil = now + wait
            result = .backoffStarted(scope: .network, failures: state.failures, seconds: wait)
        } else if globalWait > 0 {
            result = .backoffStarted(scope: .broker, failures: state.failures, seconds: globalWait)
        }
        networks[network] = state
        return result
    }

    /// `network` joined: its failures are forgotten.
    public mutating func succeeded(network: String?) {
        if let network { networks[network] = nil }
    }

    /// Forgets networks whose last failure is older than ``Limits/memory``.
    public mutating func prune(now: Double) {
        networks = networks.filter { now - $0.value.lastFailure < limits.memory }
    }

    private mutating func forgetOne(now: Double) {
        prune(now: now)
        guard networks.count >= limits.maxTrackedNetworks,
            let oldest = networks.min(by: { $0.value.lastFailure < $1.value.lastFailure })?.key
        else { return }
        networks[oldest] = nil
    }
}
