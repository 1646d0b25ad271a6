import TandemCore
import TandemProtocol
import Testing

@Suite("JoinAttemptLimiter, step by step")
struct JoinAttemptLimiterTests {
    /// 3 free failures per network, waits 1 s, 2 s, 4 s up to 5 s; forgotten after 100 s;
    /// the broker checks 10 failures at once, refilled at 1 per second.
    func limits() -> JoinAttemptLimiter.Limits {
        var limits = JoinAttemptLimiter.Limits()
        limits.failuresBeforeBackoff = 3
        limits.firstBackoff = 1
        limits.maxBackoff = 5
        limits.memory = 100
        limits.globalBurst = 10
        limits.globalPerSecond = 1
        return limits
    }

    @Test("a network waits after its free failures, twice as long after each further one, up to the cap")
    func networkBackoff() {
        var limiter = JoinAttemptLimiter(limits: limits())
        #expect(limiter.check(network: "192.0.2.7", now: 0) == .allow)
        #expect(limiter.failed(network: "192.0.2.7", now: 0) == .counted(failures: 1))
        #expect(limiter.failed(network: "192.0.2.7", now: 0) == .counted(failures: 2))
        #expect(limiter.check(network: "192.0.2.7", now: 0) == .allow)
        #expect(limiter.failed(network: "192.0.2.7", now: 0) == .backoffStarted(scope: .network, failures: 3, seconds: 1))
        #expect(limiter.check(network: "192.0.2.7", now: 0.5) == .refuse(retryAfter: 0.5, scope: .network))
        #expect(limiter.check(network: "198.51.100.1", now: 0.5) == .allow)
        #expect(limiter.check(network: "192.0.2.7", now: 1) == .allow)
        #expect(limiter.failed(network: "192.0.2.7", now: 1) == .backoffStarted(scope: .network, failures: 4, seconds: 2))
        #expect(limiter.check(network: "192.0.2.7", now: 2.5) == .refuse(retryAfter: 0.5, scope: .network))
        #expect(limiter.failed(network: "192.0.2.7", now: 3) == .backoffStarted(scope: .network, failures: 5, seconds: 4))
        #expect(limiter.failed(network: "192.0.2.7", now: 7) == .backoffStarted(scope: .network, failures: 6, seconds: 5))
        #expect(limiter.failed(network: "192.0.2.7", now: 12) == .backoffStarted(scope: .network, failures: 7, seconds: 5))
    }

    @Test("a successful join or a quiet hour forgets a network's failures")
    func forgetting() {
        var limiter = JoinAttemptLimiter(limits: limits())
        for _ in 0..<3 { _ = limiter.failed(network: "192.0.2.7", now: 0) }
        #expect(limiter.check(network: "192.0.2.7", now: 0.1) != .allow)
        #expect(limiter.check(network: "192.0.2.7", now: 1) == .allow)
        limiter.succeeded(network: "192.0.2.7")
        #expect(limiter.failed(network: "192.0.2.7", now: 1) == .counted(failures: 1))
        #expect(limiter.failed(network: "192.0.2.7", now: 101.5) == .counted(failures: 1))
        limiter.prune(now: 202)
        #expect(limiter.trackedNetworks == 0)
    }

    @Test("the broker-wide budget refuses every network once spent, reports it once, and refills")
    func brokerBudget() {
        var limiter = JoinAttemptLimiter(limits: limits())
        for index in 0..<9 { _ = limiter.failed(network: "10.0.0.\(index)", now: 0) }
        #expect(limiter.check(network: "10.0.1.1", now: 0) == .allow)
        #expect(limiter.failed(network: "10.0.1.1", now: 0) == .backoffStarted(scope: .broker, failures: 1, seconds: 1))
        #expect(limiter.check(network: "10.0.2.2", now: 0.25) == .refuse(retryAfter: 0.75, scope: .broker))
        #expect(limiter.check(network: nil, now: 0.5) == .refuse(retryAfter: 0.5, scope: .broker))
        #expect(limiter.check(network: "10.0.2.2", now: 1) == .allow)
        #expect(limiter.failed(network: "10.0.2.2", now: 1) == .counted(failures: 1))
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

    @Test("the default limits keep the chance of guessing a code under 1e-6 a day")
    func bound() {
        let limits = JoinAttemptLimiter.Limits()
        #expect(limits.maxCheckedFailuresPerDay == 8_700)
        #expect(limits.guessProbabilityPerDay(pendingCodes: 100, codeSpace: JoinCodeFormat.codeSpace) <= 1e-6)
        #expect(limits.guessProbabilityPerDay(pendingCodes: 100, codeSpace: JoinCodeFormat.codeSpace) == 8.7e-7)
    }
}
