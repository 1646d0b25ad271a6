import TandemCore
import TandemProtocol
import Testing

@Suite("JoinAttemptLimiter, step by step")
struct JoinAttemptLimiterTests {
    /// 3 free failures per network, waits 1 s, 2 s, 4 s up to 5 s; forgotten after 100 s;
    /// the shared budget checks 10 failures at once, refilled at 1 per second; the newcomer
    /// reserve is empty (rate 0) unless a test sets it.
    func limits() -> JoinAttemptLimiter.Limits {
        var limits = JoinAttemptLimiter.Limits()
        limits.failuresBeforeBackoff = 3
        limits.firstBackoff = 1
        limits.maxBackoff = 5
        limits.memory = 100
        limits.globalBurst = 10
        limits.globalPerSecond = 1
        limits.newcomerBurst = 0
        limits.newcomerPerSecond = 0
        return limits
    }

    /// A shared budget of 1 that refills every 1024 s, and a newcomer reserve of 1 that
    /// refills every 8 s (powers of two, so every wait is exact): after the first failure the
    /// reserve is all there is.
    func reserveLimits() -> JoinAttemptLimiter.Limits {
        var limits = limits()
        limits.globalBurst = 1
        limits.globalPerSecond = 1.0 / 1024
        limits.newcomerBurst = 1
        limits.newcomerPerSecond = 1.0 / 8
        limits.reservationRecheck = 30
        limits.reservationGrace = 20
        return limits
    }

    @Test("a network waits after its free failures, twice as long after each further one, up to the cap")
    func networkBackoff() {
        var limiter = JoinAttemptLimiter(limits: limits())
        #expect(limiter.check(network: "192.0.2.7", now: 0) == .allow(.shared))
        #expect(limiter.failed(network: "192.0.2.7", now: 0) == .counted(failures: 1))
        #expect(limiter.failed(network: "192.0.2.7", now: 0) == .counted(failures: 2))
        #expect(limiter.check(network: "192.0.2.7", now: 0) == .allow(.shared))
        #expect(limiter.failed(network: "192.0.2.7", now: 0) == .backoffStarted(scope: .network, failures: 3, seconds: 1))
        #expect(limiter.check(network: "192.0.2.7", now: 0.5) == .refuse(retryAfter: 0.5, scope: .network))
        #expect(limiter.check(network: "198.51.100.1", now: 0.5) == .allow(.shared))
        #expect(limiter.check(network: "192.0.2.7", now: 1) == .allow(.shared))
        #expect(limiter.failed(network: "192.0.2.7", now: 1) == .backoffStarted(scope: .network, failures: 4, seconds: 2))
        #expect(limiter.check(network: "192.0.2.7", now: 2.5) == .refuse(retryAfter: 0.5, scope: .network))
        #expect(limiter.failed(network: "192.0.2.7", now: 3) == .backoffStarted(scope: .network, failures: 5, seconds: 4))
        #expect(limiter.failed(network: "192.0.2.7", now: 7) == .backoffStarted(scope: .network, failures: 6, seconds: 5))
        #expect(limiter.failed(network: "192.0.2.7", now: 12) == .backoffStarted(scope: .network, failures: 7, seconds: 5))
    }

    @Test("a successful join or a quiet spell forgets a network's failures")
    func forgetting() {
        var limiter = JoinAttemptLimiter(limits: limits())
        for _ in 0..<3 { _ = limiter.failed(network: "192.0.2.7", now: 0) }
        #expect(limiter.check(network: "192.0.2.7", now: 0.1) != .allow(.shared))
        #expect(limiter.check(network: "192.0.2.7", now: 1) == .allow(.shared))
        limiter.succeeded(network: "192.0.2.7", pool: .shared, now: 1)
        #expect(limiter.failed(network: "192.0.2.7", now: 1) == .counted(failures: 1))
        #expect(limiter.failed(network: "192.0.2.7", now: 101.5) == .counted(failures: 1))
        limiter.prune(now: 202)
        #expect(limiter.trackedNetworks == 0)
    }

    @Test("the shared budget refuses every network once spent, reports it once, and refills")
    func brokerBudget() {
        var limiter = JoinAttemptLimiter(limits: limits())
        for index in 0..<9 {
            _ = limiter.check(network: "10.0.0.\(index)", now: 0)
            _ = limiter.failed(network: "10.0.0.\(index)", now: 0)
        }
        #expect(limiter.check(network: "10.0.1.1", now: 0) == .allow(.shared))
        #expect(limiter.failed(network: "10.0.1.1", now: 0) == .backoffStarted(scope: .broker, failures: 1, seconds: 1))
        #expect(limiter.check(network: "10.0.2.2", now: 0.25) == .refuse(retryAfter: 0.75, scope: .broker))
        #expect(limiter.check(network: nil, now: 0.5) == .refuse(retryAfter: 0.5, scope: .broker))
        #expect(limiter.check(network: "10.0.2.2", now: 1) == .allow(.shared))
        #expect(limiter.failed(network: "10.0.2.2", now: 1) == .counted(failures: 1))
    }

    @Test("a check that admits the customer gives its token back; only wrong codes spend the budget")
    func refunds() {
        var limits = limits()
        limits.globalBurst = 1
        limits.globalPerSecond = 1.0 / 1024
        var limiter = JoinAttemptLimiter(limits: limits)
        #expect(limiter.check(network: "10.0.0.1", now: 0) == .allow(.shared))
        #expect(limiter.check(network: "10.0.0.2", now: 0) == .refuse(retryAfter: 1024, scope: .broker))
        limiter.succeeded(network: "10.0.0.1", pool: .shared, now: 0)
        #expect(limiter.check(network: "10.0.0.2", now: 0) == .allow(.shared))
        limiter.refund(.shared, now: 0)
        #expect(limiter.check(network: "10.0.0.3", now: 0) == .allow(.shared))
        #expect(limiter.failed(network: "10.0.0.3", now: 0) == .backoffStarted(scope: .broker, failures: 1, seconds: 1024))
        #expect(limiter.check(network: "10.0.0.4", now: 0) == .refuse(retryAfter: 1024, scope: .broker))
    }

    @Test("with the shared budget spent, a network without failures gets the newcomer reserve; one that failed twice does not")
    func newcomerReserve() {
        var limiter = JoinAttemptLimiter(limits: reserveLimits())
        #expect(limiter.check(network: "203.0.113.1", now: 0) == .allow(.shared))
        #expect(limiter.failed(network: "203.0.113.1", now: 0) == .backoffStarted(scope: .broker, failures: 1, seconds: 1024))
        #expect(limiter.check(network: "203.0.113.1", now: 1) == .allow(.newcomer))
        #expect(limiter.failed(network: "203.0.113.1", now: 1) == .counted(failures: 2))
        #expect(limiter.check(network: "203.0.113.1", now: 50) == .refuse(retryAfter: 974, scope: .broker))
        #expect(limiter.check(network: "198.51.100.9", now: 50) == .allow(.newcomer))
        limiter.succeeded(network: "198.51.100.9", pool: .newcomer, now: 50)
        #expect(limiter.check(network: "198.51.100.10", now: 50) == .allow(.newcomer))
    }

    @Test("while the reserve is empty, networks line up in turn and each is checked when the reserve has a token for it")
    func inTurn() {
        var limiter = JoinAttemptLimiter(limits: reserveLimits())
        _ = limiter.check(network: "10.9.9.9", now: 0)
        _ = limiter.failed(network: "10.9.9.9", now: 0)
        #expect(limiter.check(network: "10.0.0.1", now: 0) == .allow(.newcomer))
        _ = limiter.failed(network: "10.0.0.1", now: 0)
        #expect(limiter.check(network: "10.0.0.2", now: 1) == .refuse(retryAfter: 7, scope: .broker))
        #expect(limiter.check(network: "10.0.0.3", now: 1) == .refuse(retryAfter: 15, scope: .broker))
        #expect(limiter.waitingNetworks == 2)
        // Its time has come, but the one ahead of it has not been served yet: 8 s more.
        #expect(limiter.check(network: "10.0.0.3", now: 17) == .refuse(retryAfter: 8, scope: .broker))
        #expect(limiter.check(network: "10.0.0.2", now: 17) == .allow(.newcomer))
        #expect(limiter.check(network: "10.0.0.3", now: 25) == .allow(.newcomer))
        #expect(limiter.waitingNetworks == 0)
    }

    @Test("a network that comes back before the time it was told loses its place, and the next in line moves up")
    func impatience() {
        var limiter = JoinAttemptLimiter(limits: reserveLimits())
        _ = limiter.check(network: "10.9.9.9", now: 0)
        _ = limiter.failed(network: "10.9.9.9", now: 0)
        _ = limiter.check(network: "10.0.0.1", now: 0)
        _ = limiter.failed(network: "10.0.0.1", now: 0)
        #expect(limiter.check(network: "192.0.2.66", now: 1) == .refuse(retryAfter: 7, scope: .broker))
        #expect(limiter.check(network: "10.0.0.2", now: 1) == .refuse(retryAfter: 15, scope: .broker))
        // Polling instead of waiting: out of line, and only the shared budget is left to it.
        #expect(limiter.check(network: "192.0.2.66", now: 1.5) == .refuse(retryAfter: 1022.5, scope: .broker))
        #expect(limiter.waitingNetworks == 1)
        #expect(limiter.check(network: "10.0.0.2", now: 16) == .allow(.newcomer))
        #expect(limiter.check(network: "192.0.2.66", now: 40) == .refuse(retryAfter: 984, scope: .broker))
        #expect(limiter.waitingNetworks == 0)
    }

    @Test("a place whose network never comes back is given up after the grace period")
    func grace() {
        var limiter = JoinAttemptLimiter(limits: reserveLimits())
        _ = limiter.check(network: "10.9.9.9", now: 0)
        _ = limiter.failed(network: "10.9.9.9", now: 0)
        _ = limiter.check(network: "10.0.0.1", now: 0)
        _ = limiter.failed(network: "10.0.0.1", now: 0)
        #expect(limiter.check(network: "10.0.0.2", now: 1) == .refuse(retryAfter: 7, scope: .broker))
        limiter.prune(now: 27)
        #expect(limiter.waitingNetworks == 1)
        limiter.prune(now: 28)
        #expect(limiter.waitingNetworks == 0)
        #expect(limiter.check(network: "10.0.0.3", now: 28) == .allow(.newcomer))
    }

    @Test("at most maxTrackedNetworks networks are remembered")
    func bounded() {
        var limits = limits()
        limits.maxTrackedNetworks = 3
        limits.globalBurst = 100
        var limiter = JoinAttemptLimiter(limits: limits)
        for index in 0..<10 { _ = limiter.failed(network: "10.0.0.\(index)", now: Double(index)) }
        #expect(limiter.trackedNetworks == 3)
    }

    @Test("the default limits keep the chance of guessing a code under 1e-6 a day, both budgets counted")
    func bound() {
        let limits = JoinAttemptLimiter.Limits()
        #expect(limits.maxCheckedFailuresPerDay == 8_700)
        #expect(limits.guessProbabilityPerDay(pendingCodes: 100, codeSpace: JoinCodeFormat.codeSpace) <= 1e-6)
        #expect(limits.guessProbabilityPerDay(pendingCodes: 100, codeSpace: JoinCodeFormat.codeSpace) == 8.7e-7)
    }
}
