import TandemCore
import Testing

@Suite("AnonymousWriteLimiter, step by step")
struct AnonymousWriteLimiterTests {
    /// Each network: 2 actions per path, refilled at 1 per second (full again 2 s after its
    /// last action); the broker: 5 anonymous and 3 signed-link actions, refilled at 1 per second.
    func limits() -> AnonymousWriteLimiter.Limits {
        var limits = AnonymousWriteLimiter.Limits()
        limits.failedResumesPerNetwork = .init(burst: 2, perHour: 3600)
        limits.queueEntriesPerNetwork = .init(burst: 2, perHour: 3600)
        limits.anonymous = .init(burst: 5, perHour: 3600)
        limits.signedLinks = .init(burst: 3, perHour: 3600)
        return limits
    }

    @Test("a network spends its own budget per path; its refusal period is reported once, until its budget is full again")
    func networkBudget() {
        var limiter = AnonymousWriteLimiter(limits: limits())
        #expect(limiter.spend(.queue, network: "192.0.2.7", now: 0) == .allow)
        #expect(limiter.spend(.queue, network: "192.0.2.7", now: 0) == .allow)
        #expect(limiter.spend(.queue, network: "192.0.2.7", now: 0) == .refuse(retryAfter: 1, scope: .network, started: true))
        #expect(limiter.spend(.queue, network: "192.0.2.7", now: 0.5) == .refuse(retryAfter: 0.5, scope: .network, started: false))
        #expect(limiter.spend(.resume, network: "192.0.2.7", now: 0.5) == .allow)
        #expect(limiter.spend(.queue, network: "198.51.100.1", now: 0.5) == .allow)
        #expect(limiter.spend(.queue, network: "192.0.2.7", now: 1) == .allow)
        #expect(limiter.spend(.queue, network: "192.0.2.7", now: 1) == .refuse(retryAfter: 1, scope: .network, started: false))
        #expect(limiter.spend(.queue, network: "192.0.2.7", now: 3.5) == .allow)
        #expect(limiter.spend(.queue, network: "192.0.2.7", now: 3.5) == .allow)
        #expect(limiter.spend(.queue, network: "192.0.2.7", now: 3.5) == .refuse(retryAfter: 1, scope: .network, started: true))
    }

    @Test("however many networks, the broker-wide budget holds; its refusal is reported at most once an hour; signed links have their own")
    func brokerBudget() {
        var limits = limits()
        limits.anonymous = .init(burst: 3, perHour: 3600)
        limits.signedLinks = .init(burst: 2, perHour: 3600)
        var limiter = AnonymousWriteLimiter(limits: limits)
        #expect(limiter.spend(.queue, network: "192.0.2.1", now: 0) == .allow)
        #expect(limiter.spend(.queue, network: "192.0.2.2", now: 0) == .allow)
        #expect(limiter.spend(.resume, network: nil, now: 0) == .allow)
        #expect(limiter.spend(.queue, network: "192.0.2.4", now: 0) == .refuse(retryAfter: 1, scope: .broker, started: true))
        #expect(limiter.spend(.resume, network: nil, now: 0.5) == .refuse(retryAfter: 0.5, scope: .broker, started: false))
        #expect(limiter.spend(.queue, network: "192.0.2.6", pool: .signedLinks, now: 0.5) == .allow)
        #expect(limiter.spend(.queue, network: "192.0.2.4", now: 1) == .allow)
        #expect(limiter.spend(.queue, network: "192.0.2.5", now: 1) == .refuse(retryAfter: 1, scope: .broker, started: false))
        #expect(limiter.spend(.queue, network: "192.0.2.7", now: 3601) == .allow)
        #expect(limiter.spend(.queue, network: "192.0.2.8", now: 3601) == .allow)
        #expect(limiter.spend(.queue, network: "192.0.2.9", now: 3601) == .allow)
        #expect(limiter.spend(.queue, network: "192.0.2.10", now: 3601) == .refuse(retryAfter: 1, scope: .broker, started: true))
    }

    @Test("networks are forgotten once their budget is full again, and at most the configured number are kept")
    func forgetting() {
        var limits = limits()
        limits.maxTrackedNetworks = 2
        var limiter = AnonymousWriteLimiter(limits: limits)
        _ = limiter.spend(.queue, network: "192.0.2.1", now: 0)
        #expect(limiter.trackedNetworks(.queue) == 1)
        limiter.prune(now: 1.5)
        #expect(limiter.trackedNetworks(.queue) == 1)
        limiter.prune(now: 2)
        #expect(limiter.trackedNetworks(.queue) == 0)
        _ = limiter.spend(.queue, network: "192.0.2.1", now: 3)
        _ = limiter.spend(.queue, network: "192.0.2.2", now: 3.1)
        _ = limiter.spend(.queue, network: "192.0.2.3", now: 3.2)
        #expect(limiter.trackedNetworks(.queue) == 2)
    }

    @Test("the defaults keep anonymous writes to a few hundred events an hour")
    func defaultBound() {
        let limits = AnonymousWriteLimiter.Limits()
        #expect(limits.maxActionsPerHour(.anonymous) == 120)
        // Each action writes at most 2 events (queue.entered, then queue.left); a network's
        // refusal period needs a full network budget (10 actions) first; the broker's is reported once an hour.
        let events = 2 * limits.maxActionsPerHour(.anonymous) + limits.maxActionsPerHour(.anonymous) / limits.queueEntriesPerNetwork.burst + 1
        #expect(events == 253)  // the figure §13.1 and SECURITY.md give: "a few hundred an hour" at most
    }
}
