/// Limits join-code guessing, per source network and for the whole broker, without letting an
/// attacker with many addresses lock real customers out.
///
/// Only failed joins cost. A network (an IPv4 address, an IPv6 /64) gets
/// ``Limits/failuresBeforeBackoff`` failures; each failure after that makes it wait twice as
/// long as the one before, from ``Limits/firstBackoff`` up to ``Limits/maxBackoff``. It is
/// forgotten ``Limits/memory`` after its last attempt or at once when it joins.
///
/// Across all networks every check spends a token of one of two budgets, and a check that
/// turns out right (the customer joins) gives it back:
///
/// - the **shared** budget (``Limits/globalBurst`` tokens, refilled at ``Limits/globalPerSecond``),
///   first come, first served;
/// - the **newcomer reserve** (``Limits/newcomerBurst``, ``Limits/newcomerPerSecond``), only for
///   networks with fewer than ``Limits/newcomerFailures`` failures, handed out in turn: a
///   network refused while the reserve is empty gets a place in line and is told when to
///   come back (at most ``Limits/reservationRecheck`` later); its check comes when the
///   reserve has a token for everyone ahead of it. Coming back earlier than told forfeits
///   the place, and a network that does so more than ``Limits/earlyReturnsForgiven`` times
///   gets no place until it is forgotten. An attacker polling from many
///   addresses therefore empties the shared budget but not the reserve, and a customer
///   typing a good code from a new network gets its check within one refill of the reserve.
///
/// While neither budget has a token for a network, its join is refused unchecked. The
/// broker therefore checks at most ``Limits/maxCheckedFailuresPerDay`` wrong codes a day
/// whatever the number of attackers, which bounds the chance of a successful guess
/// (``Limits/guessProbabilityPerDay(pendingCodes:codeSpace:)``).
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
        /// A network is forgotten this long after its last attempt.
        public var memory: Double = 3600
        /// The shared budget: failed joins the whole broker may check at once, and refilled per second.
        public var globalBurst: Double = 30
        public var globalPerSecond: Double = 0.05
        /// The newcomer reserve: checks for networks with few failures, at once and refilled per second.
        public var newcomerBurst: Double = 30
        public var newcomerPerSecond: Double = 0.05
        /// A network may draw on the newcomer reserve while it has fewer failures than this.
        public var newcomerFailures: Int = 2
        /// The longest wait told to a network in line for the reserve: it comes back then,
        /// keeps its place and learns how much longer (places ahead of it may have been forfeited).
        public var reservationRecheck: Double = 10
        /// A network in line that does not come back this long after the time it was told loses its place.
        public var reservationGrace: Double = 60
        /// Returns before the time a network was told that are forgiven; after one more the
        /// network gets no reservation until it is forgotten. Clients that wait as told (the
        /// customer page and `tandem join` retry by themselves) never come back early.
        public var earlyReturnsForgiven: Int = 0
        /// Networks remembered at once; beyond this the longest-quiet one is forgotten
        /// (the broker-wide budgets still hold).
        public var maxTrackedNetworks: Int = 100_000

        public init() {}

        /// The most wrong codes the broker checks in 24 hours: both budgets' burst and refill.
        public var maxCheckedFailuresPerDay: Double {
            globalBurst + 86_400 * globalPerSecond + newcomerBurst + 86_400 * newcomerPerSecond
        }

        /// An upper bound on the chance that anyone, with any number of addresses, redeems a
        /// code that was not given to them within one day, when at most `pendingCodes` codes
        /// are unused at any time out of `codeSpace`: each checked guess hits one with
        /// probability at most `pendingCodes / codeSpace`.
        public func guessProbabilityPerDay(pendingCodes: Int, codeSpace: Double) -> Double {
            maxCheckedFailuresPerDay * Double(pendingCodes) / codeSpace
        }
    }

    public typealias Scope = ThrottleScope

    /// The budget a check was paid from; a check that was not a wrong code gives it back.
    public enum Pool: String, Sendable {
        case shared
        case newcomer
    }

    public enum Decision: Equatable, Sendable {
        /// Check the code; a token of `Pool` is spent (``succeeded(network:pool:now:)`` or ``refund(_:now:)`` give it back).
        case allow(Pool)
        case refuse(retryAfter: Double, scope: Scope)
    }

    /// What a failure changed; a new wait is worth one line in the audit log.
    public enum FailureResult: Equatable, Sendable {
        case counted(failures: Int)
        case backoffStarted(scope: Scope, failures: Int, seconds: Double)
    }

    /// A place in line for the newcomer reserve.
    struct Reservation: Equatable, Sendable {
        /// Taken in turn: lower tickets were refused first.
        var ticket: Int
        /// The time the network was told to come back; sooner forfeits the place.
        var comeBackAt: Double
    }

    struct Network: Equatable, Sendable {
        var failures = 0
        var lastSeen: Double
        var blockedUntil: Double
        var reservation: Reservation?
        var earlyReturns = 0

        init(now: Double) {
            lastSeen = now
            blockedUntil = now
        }
    }

    public let limits: Limits
    private var networks: [String: Network] = [:]
    private var shared: GuessBudget
    private var newcomer: GuessBudget
    /// The tickets of the networks waiting for the newcomer reserve, in turn (ascending).
    private var line: [Int] = []
    private var nextTicket = 0
    /// When the shared budget last ran out and was reported, so an attack that keeps it
    /// empty is reported once per ``Limits/memory``, not at every refill.
    private var globalReportedAt: Double?

    public init(limits: Limits = Limits()) {
        self.limits = limits
        self.shared = GuessBudget(rate: limits.globalPerSecond, burst: limits.globalBurst)
        self.newcomer = GuessBudget(rate: limits.newcomerPerSecond, burst: limits.newcomerBurst)
    }

    /// Networks currently remembered.
    public var trackedNetworks: Int { networks.count }

    /// Networks waiting in line for the newcomer reserve.
    public var waitingNetworks: Int { line.count }

    /// Whether an attempt from `network` (nil: unknown address) may be checked at `now`.
    /// `.allow` spends a token at once, so attempts checked concurrently cannot overdraw.
    public mutating func check(network: String?, now: Double) -> Decision {
        guard let network else {
            if shared.take(now: now) { return .allow(.shared) }
            return .refuse(retryAfter: shared.wait(now: now), scope: .broker)
        }
        var state = remembered(network, now: now) ?? Network(now: now)
        let decision = decide(&state, now: now)
        store(state, for: network, now: now)
        return decision
    }

    private mutating func decide(_ state: inout Network, now: Double) -> Decision {
        state.lastSeen = now
        if now < state.blockedUntil {
            return .refuse(retryAfter: state.blockedUntil - now, scope: .network)
        }
        if let reservation = state.reservation {
            if now < reservation.comeBackAt {
                // Back before the time it was told: the place goes to the next in line.
                release(&state)
                state.earlyReturns += 1
            } else {
                // Its turn once the reserve has a token for everyone ahead of it and for it.
                let ahead = Double(lowerBound(reservation.ticket))
                let level = newcomer.level(now: now)
                if level - ahead >= 1, newcomer.take(now: now) {
                    release(&state)
                    return .allow(.newcomer)
                }
                if shared.take(now: now) {
                    release(&state)
                    return .allow(.shared)
                }
                let wait = min((ahead + 1 - level) / limits.newcomerPerSecond, limits.reservationRecheck)
                state.reservation?.comeBackAt = now + wait
                return .refuse(retryAfter: wait, scope: .broker)
            }
        }
        if shared.take(now: now) { return .allow(.shared) }
        guard state.failures < limits.newcomerFailures, state.earlyReturns <= limits.earlyReturnsForgiven, limits.newcomerPerSecond > 0 else {
            return .refuse(retryAfter: shared.wait(now: now), scope: .broker)
        }
        // Tokens of the reserve are kept for the networks in line.
        let level = newcomer.level(now: now)
        if level - Double(line.count) >= 1, newcomer.take(now: now) { return .allow(.newcomer) }
        let wait = min((Double(line.count) + 1 - level) / limits.newcomerPerSecond, limits.reservationRecheck)
        state.reservation = Reservation(ticket: nextTicket, comeBackAt: now + wait)
        line.append(nextTicket)
        nextTicket += 1
        return .refuse(retryAfter: wait, scope: .broker)
    }

    /// Counts a failed attempt that was checked (its token was spent by ``check(network:now:)``).
    public mutating func failed(network: String?, now: Double) -> FailureResult {
        var globalWait = shared.wait(now: now)
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
        var state = remembered(network, now: now) ?? Network(now: now)
        state.failures += 1
        state.lastSeen = now
        var result = FailureResult.counted(failures: state.failures)
        let over = state.failures - limits.failuresBeforeBackoff
        if over >= 0 {
            let wait = min(limits.firstBackoff * Double(1 << min(over, 30)), limits.maxBackoff)
            state.blockedUntil = now + wait
            result = .backoffStarted(scope: .network, failures: state.failures, seconds: wait)
        } else if globalWait > 0 {
            result = .backoffStarted(scope: .broker, failures: state.failures, seconds: globalWait)
        }
        store(state, for: network, now: now)
        return result
    }

    /// `network` joined: the check's token goes back to `pool` and the network is forgotten.
    public mutating func succeeded(network: String?, pool: Pool?, now: Double) {
        if let pool { refund(pool, now: now) }
        guard let network, var state = networks.removeValue(forKey: network) else { return }
        release(&state)
    }

    /// Gives back the token of a check that was not a wrong code (e.g. the code is held by
    /// another broker).
    public mutating func refund(_ pool: Pool, now: Double) {
        switch pool {
        case .shared: shared.giveBack(now: now)
        case .newcomer: newcomer.giveBack(now: now)
        }
    }

    /// Forgets networks not seen for ``Limits/memory`` and places in line whose network did
    /// not come back within ``Limits/reservationGrace`` of the time it was told.
    public mutating func prune(now: Double) {
        networks = networks.filter { now - $0.value.lastSeen < limits.memory }
        for (network, state) in networks {
            if let reservation = state.reservation, now - reservation.comeBackAt >= limits.reservationGrace {
                networks[network]?.reservation = nil
            }
        }
        line = networks.values.compactMap { $0.reservation?.ticket }.sorted()
    }

    /// The state of `network`, unless it was last seen ``Limits/memory`` ago (then it is forgotten).
    private mutating func remembered(_ network: String, now: Double) -> Network? {
        guard var state = networks[network] else { return nil }
        guard now - state.lastSeen < limits.memory else {
            release(&state)
            networks[network] = nil
            return nil
        }
        return state
    }

    /// Takes the network out of the line.
    private mutating func release(_ state: inout Network) {
        guard let ticket = state.reservation?.ticket else { return }
        state.reservation = nil
        let index = lowerBound(ticket)
        if index < line.count, line[index] == ticket { line.remove(at: index) }
    }

    /// How many tickets in line are below `ticket`.
    private func lowerBound(_ ticket: Int) -> Int {
        var low = 0
        var high = line.count
        while low < high {
            let middle = (low + high) / 2
            if line[middle] < ticket { low = middle + 1 } else { high = middle }
        }
        return low
    }

    private mutating func store(_ state: Network, for network: String, now: Double) {
        if networks[network] == nil, networks.count >= limits.maxTrackedNetworks { forgetOne(now: now) }
        networks[network] = state
    }

    private mutating func forgetOne(now: Double) {
        prune(now: now)
        guard networks.count >= limits.maxTrackedNetworks,
            let oldest = networks.min(by: { $0.value.lastSeen < $1.value.lastSeen })?.key,
            var state = networks.removeValue(forKey: oldest)
        else { return }
        release(&state)
    }
}

/// Tokens refilled at `rate` per second up to `burst`; a check takes one, and a check that
/// was not a wrong code gives it back. Pure logic: the caller passes the time.
struct GuessBudget: Sendable, Equatable {
    let rate: Double
    let burst: Double
    private var tokens: Double
    private var last: Double?

    init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
        self.tokens = burst
    }

    /// Tokens there at `now` (fractions count towards the next one).
    mutating func level(now: Double) -> Double {
        refill(now: now)
        return tokens
    }

    /// Takes a token at `now`; false when none is there.
    mutating func take(now: Double) -> Bool {
        refill(now: now)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    /// Seconds from `now` until a token is there; 0 when one is there now.
    mutating func wait(now: Double) -> Double {
        refill(now: now)
        guard tokens < 1 else { return 0 }
        return rate > 0 ? (1 - tokens) / rate : 86_400
    }

    /// Puts back a token that was taken (never above `burst`).
    mutating func giveBack(now: Double) {
        refill(now: now)
        tokens = min(burst, tokens + 1)
    }

    private mutating func refill(now: Double) {
        if let last { tokens = min(burst, tokens + max(0, now - last) * rate) }
        last = max(now, last ?? now)
    }
}
