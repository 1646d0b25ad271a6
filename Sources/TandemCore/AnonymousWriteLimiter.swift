/// Limits what anonymous clients can write to the audit log (protocol/README.md §13.1):
/// failed resumes and queue entries, per source network and for the whole broker.
///
/// Each ``Path`` has a token bucket per network (an IPv4 address, an IPv6 /64): a network
/// may act ``Budget/burst`` times, then ``Budget/perHour`` times an hour. Every allowed
/// action also takes a token from a broker-wide bucket of its ``Pool``, so however many
/// networks an attacker has, the broker logs at most ``Limits/maxActionsPerHour(_:)`` of
/// them an hour. A refused action is not logged; the start of a refusal period is, once: for
/// a network until its bucket is full again, for the broker at most once an hour.
///
/// Pure logic: the caller passes the time (seconds on any clock that does not go back) and
/// carries out the result. The join-code limits are ``JoinAttemptLimiter``'s.
public struct AnonymousWriteLimiter: Sendable {
    /// A token bucket's size and refill.
    public struct Budget: Sendable, Equatable {
        public var burst: Double
        public var perHour: Double

        public init(burst: Double, perHour: Double) {
            self.burst = burst
            self.perHour = perHour
        }

        /// The most actions in any one hour (a full bucket plus an hour of refills).
        public var maxPerHour: Double { burst + perHour }

        func bucket() -> TokenBucket { TokenBucket(rate: perHour / 3600, burst: burst) }

        /// Seconds an unused bucket takes to fill up from empty.
        var refillSeconds: Double { perHour > 0 ? burst / perHour * 3600 : 86_400 }
    }

    public struct Limits: Sendable, Equatable {
        /// Failed resumes (unknown, used or expired resume token) a network may make.
        public var failedResumesPerNetwork = Budget(burst: 10, perHour: 10)
        /// Queue entries a network may make (each is logged twice: entered, then left or answered).
        public var queueEntriesPerNetwork = Budget(burst: 10, perHour: 10)
        /// Anonymous actions (unsigned queue entries and failed resumes) the whole broker logs.
        public var anonymous = Budget(burst: 60, perHour: 60)
        /// Queue entries with a signed help link (§16.1) the whole broker logs; kept apart so
        /// that an attack on the anonymous budget does not turn away customers the helpdesk sent.
        public var signedLinks = Budget(burst: 300, perHour: 300)
        /// Networks remembered per path; beyond this the longest-quiet one is forgotten (the
        /// broker-wide budgets still hold).
        public var maxTrackedNetworks: Int = 100_000

        public init() {}

        /// The most actions of `pool` the broker allows in any one hour, whatever the number of networks.
        public func maxActionsPerHour(_ pool: Pool) -> Double {
            pool == .anonymous ? anonymous.maxPerHour : signedLinks.maxPerHour
        }
    }

    public enum Path: String, Sendable, CaseIterable {
        /// A resume with a token that does not resume anything (`resume.failed`).
        case resume
        /// A customer entering the queue (`queue.entered`, later `queue.left`/`queue.answered`).
        case queue
    }

    /// Which broker-wide budget an action spends.
    public enum Pool: String, Sendable {
        case anonymous
        /// Queue entries with a valid signed help link.
        case signedLinks = "signed-links"
    }

    public typealias Scope = ThrottleScope

    public enum Decision: Equatable, Sendable {
        case allow
        /// Not allowed (and not to be logged); try again after `retryAfter` seconds.
        /// `started` is true for the first refusal of a refusal period: worth one line in the log.
        case refuse(retryAfter: Double, scope: Scope, started: Bool)
    }

    struct Network: Sendable {
        var bucket: TokenBucket
        /// When it last spent a token; its bucket is full again ``Budget/refillSeconds`` later.
        var lastSpent: Double
        /// Its refusal period was reported.
        var reported: Bool
    }

    public let limits: Limits
    private var networks: [Path: [String: Network]] = [:]
    private var pools: [Pool: TokenBucket]
    /// When each broker-wide budget's refusal was last reported.
    private var poolReportedAt: [Pool: Double] = [:]

    public init(limits: Limits = Limits()) {
        self.limits = limits
        self.pools = [.anonymous: limits.anonymous.bucket(), .signedLinks: limits.signedLinks.bucket()]
    }

    func budget(_ path: Path) -> Budget {
        path == .resume ? limits.failedResumesPerNetwork : limits.queueEntriesPerNetwork
    }

    /// Networks currently remembered for `path`.
    public func trackedNetworks(_ path: Path) -> Int { networks[path]?.count ?? 0 }

    /// Spends one action of `path` by `network` (nil: unknown address, only the broker-wide
    /// budget applies) from `pool` at `now`.
    public mutating func spend(_ path: Path, network: String?, pool: Pool = .anonymous, now: Double) -> Decision {
        let budget = budget(path)
        var state: Network?
        if let network {
            state = networks[path]?[network]
            if let old = state, now - old.lastSpent >= budget.refillSeconds { state = nil }
            if state == nil, trackedNetworks(path) >= limits.maxTrackedNetworks { forgetOne(path, now: now) }
            var current = state ?? Network(bucket: budget.bucket(), lastSpent: now, reported: false)
            let wait = current.bucket.waitForToken(now: now)
            if wait > 0 {
                let started = !current.reported
                current.reported = true
                networks[path, default: [:]][network] = current
                return .refuse(retryAfter: wait, scope: .network, started: started)
            }
            state = current
        }
        var shared = pools[pool] ?? TokenBucket(rate: 0, burst: 0)
        let wait = shared.waitForToken(now: now)
        guard wait <= 0 else {
            pools[pool] = shared
            var started = false
            if poolReportedAt[pool].map({ now - $0 >= 3600 }) ?? true {
                poolReportedAt[pool] = now
                started = true
            }
            if let network, let state { networks[path, default: [:]][network] = state }
            return .refuse(retryAfter: wait, scope: .broker, started: started)
        }
        _ = shared.take(now: now)
        pools[pool] = shared
        if let network, var state {
            _ = state.bucket.take(now: now)
            state.lastSpent = now
            networks[path, default: [:]][network] = state
        }
        return .allow
    }

    /// Forgets networks whose budget is full again.
    public mutating func prune(now: Double) {
        for path in Path.allCases {
            let refill = budget(path).refillSeconds
            networks[path] = networks[path]?.filter { now - $0.value.lastSpent < refill }
        }
    }

    private mutating func forgetOne(_ path: Path, now: Double) {
        prune(now: now)
        guard trackedNetworks(path) >= limits.maxTrackedNetworks,
            let oldest = networks[path]?.min(by: { $0.value.lastSpent < $1.value.lastSpent })?.key
        else { return }
        networks[path]?[oldest] = nil
    }
}
