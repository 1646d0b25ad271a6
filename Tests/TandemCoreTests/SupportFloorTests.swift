import Foundation
import TandemCore
import TandemProtocol
import Testing

/// ``SupportFloor``: who is offered which entry (protocol/README.md §20.1, §20.2), one step at a time.
@Suite("SupportFloor")
struct SupportFloorTests {
    let t0 = Date(timeIntervalSince1970: 1_795_430_000)

    func entry(
        _ id: String,
        tier: SupportTier = .basic,
        line: String = "line1",
        skills: [String] = [],
        at offset: TimeInterval = 0
    ) -> SupportQueue.Entry {
        SupportQueue.Entry(id: id, kind: .customer, ticket: "HD-" + id, tier: tier, mode: .screen, line: line, enteredAt: t0 + offset, skills: skills)
    }

    @Test("the least busy agent first, then the one idle longest; one open offer per agent and per entry")
    func leastBusy() {
        var floor = SupportFloor(offerTimeout: 15)
        #expect(floor.online("alice", Presence(state: .available, maxSessions: 2), now: t0) == .cameOnline(floor.agents["alice"]!))
        _ = floor.online("bob", Presence(state: .available), now: t0 + 1)
        let busy: [String: Int] = ["alice": 1]
        let offers = floor.route(entries: [entry("q1"), entry("q2", at: 1)], sessions: { busy[$0] ?? 0 }, now: t0 + 2)
        #expect(offers.map(\.offer.agent) == ["bob", "alice"])
        #expect(floor.route(entries: [entry("q1"), entry("q2", at: 1), entry("q3", at: 2)], sessions: { busy[$0] ?? 0 }, now: t0 + 3).isEmpty)
        #expect(floor.offer(forEntry: "q1")?.agent == "bob")
    }

    @Test("offers go out by tier, then waiting time, as the queue orders them: premium first though it came last, then standard, then basic")
    func tierOrder() throws {
        var queue = SupportQueue()
        #expect(queue.add(entry("basic", tier: .basic)) == true)
        #expect(queue.add(entry("standard", tier: .standard, at: 1)) == true)
        #expect(queue.add(entry("premium", tier: .premium, at: 2)) == true)
        var floor = SupportFloor(offerTimeout: 15)
        _ = floor.online("alice", Presence(state: .available), now: t0 + 3)
        // One agent, one open offer: the premium entry.
        let first = floor.route(entries: queue.byPrecedence, sessions: { _ in 0 }, now: t0 + 3)
        #expect(first.map(\.entry.id) == ["premium"])
        #expect(first.map(\.offer.agent) == ["alice"])
        #expect(floor.route(entries: queue.byPrecedence, sessions: { _ in 0 }, now: t0 + 4).isEmpty)
        // Alice takes it and is then busy at her one session: nothing more goes out.
        let offer = try #require(first.first?.offer)
        #expect(floor.accept(offerID: offer.id, by: "alice", now: t0 + 5) == .take(offer))
        queue.remove(id: "premium")
        let busy = ["alice": 1]
        #expect(floor.route(entries: queue.byPrecedence, sessions: { busy[$0] ?? 0 }, now: t0 + 6).isEmpty)
        // A second agent gets the standard entry, though the basic one waited longer; a third the basic one.
        _ = floor.online("bob", Presence(state: .available), now: t0 + 7)
        #expect(floor.route(entries: queue.byPrecedence, sessions: { busy[$0] ?? 0 }, now: t0 + 7).map(\.entry.id) == ["standard"])
        _ = floor.online("carol", Presence(state: .available), now: t0 + 8)
        #expect(floor.route(entries: queue.byPrecedence, sessions: { busy[$0] ?? 0 }, now: t0 + 8).map(\.entry.id) == ["basic"])
        #expect(floor.offer(forEntry: "basic")?.agent == "carol")
    }

    @Test("skills and lines decide who is eligible; a transfer to a named agent goes to it alone")
    func eligibility() {
        var floor = SupportFloor()
        _ = floor.online("alice", Presence(state: .available, lines: ["line1"], skills: ["router"]), now: t0)
        _ = floor.online("bob", Presence(state: .available, lines: ["line2"]), now: t0)
        let made = floor.route(entries: [entry("q1", skills: ["tv"]), entry("q2", line: "line2", skills: ["router"])], sessions: { _ in 0 }, now: t0)
        #expect(made.isEmpty)
        var directed = entry("s1")
        directed.forAgent = "bob"
        #expect(floor.route(entries: [directed], sessions: { _ in 0 }, now: t0).map(\.offer.agent) == ["bob"])
        #expect(floor.route(entries: [entry("q3", skills: ["router"])], sessions: { _ in 0 }, now: t0).map(\.offer.agent) == ["alice"])
    }

    @Test("a decline moves the entry on; when everyone refused it waits an offer timeout before ringing again")
    func decline() {
        var floor = SupportFloor(offerTimeout: 15)
        _ = floor.online("alice", Presence(state: .available), now: t0)
        let offer = floor.route(entries: [entry("q1")], sessions: { _ in 0 }, now: t0)[0].offer
        #expect(floor.decline(offerID: offer.id, by: "bob", now: t0) == .unknown)
        #expect(floor.decline(offerID: offer.id, by: "alice", now: t0 + 1) == .declined(offer))
        #expect(floor.route(entries: [entry("q1")], sessions: { _ in 0 }, now: t0 + 2).isEmpty)
        #expect(floor.route(entries: [entry("q1")], sessions: { _ in 0 }, now: t0 + 16).map(\.offer.agent) == ["alice"])
    }

    @Test("an ignored offer expires: refused, and its agent set away; away agents get nothing")
    func timeout() {
        var floor = SupportFloor(offerTimeout: 15)
        _ = floor.online("alice", Presence(state: .available), now: t0)
        let offer = floor.route(entries: [entry("q1")], sessions: { _ in 0 }, now: t0)[0].offer
        #expect(floor.expire(now: t0 + 14).isEmpty)
        #expect(floor.expire(now: t0 + 15) == [offer])
        #expect(floor.state(of: "alice", sessions: 0) == .away)
        #expect(floor.route(entries: [entry("q1")], sessions: { _ in 0 }, now: t0 + 40).isEmpty)
    }

    @Test("accepting takes exactly the offered entry, once, by its agent, before it expires")
    func accept() {
        var floor = SupportFloor(offerTimeout: 15)
        _ = floor.online("alice", Presence(state: .available), now: t0)
        let offer = floor.route(entries: [entry("q1")], sessions: { _ in 0 }, now: t0)[0].offer
        #expect(floor.accept(offerID: offer.id, by: "bob", now: t0 + 1) == .gone)
        #expect(floor.accept(offerID: offer.id, by: "alice", now: t0 + 16) == .gone)
        #expect(floor.accept(offerID: offer.id, by: "alice", now: t0 + 1) == .take(offer))
        #expect(floor.accept(offerID: offer.id, by: "alice", now: t0 + 2) == .gone)
    }

    @Test("states: available below its most sessions, busy at it, away as chosen, offline when not present")
    func states() {
        var floor = SupportFloor()
        _ = floor.online("alice", Presence(state: .available, maxSessions: 2), now: t0)
        #expect(floor.state(of: "alice", sessions: 1) == .available)
        #expect(floor.state(of: "alice", sessions: 2) == .busy)
        #expect(floor.set("alice", Presence(state: .away), now: t0 + 1) == .changed(floor.agents["alice"]!))
        #expect(floor.state(of: "alice", sessions: 0) == .away)
        #expect(floor.set("alice", Presence(state: .away), now: t0 + 2) == .unchanged(floor.agents["alice"]!))
        #expect(floor.offline("alice") != .notOnline)
        #expect(floor.state(of: "alice", sessions: 1) == .offline)
    }

    @Test("going offline hands back the open offer; a gone entry withdraws its offer")
    func offlineAndGone() {
        var floor = SupportFloor()
        _ = floor.online("alice", Presence(state: .available), now: t0)
        let offer = floor.route(entries: [entry("q1"), entry("q2", at: 1)], sessions: { _ in 0 }, now: t0)[0].offer
        #expect(floor.entryGone("q2") == nil)
        #expect(floor.entryGone("q1") == offer)
        let second = floor.route(entries: [entry("q2", at: 1)], sessions: { _ in 0 }, now: t0)[0].offer
        guard case .wentOffline(_, let open) = floor.offline("alice") else {
            Issue.record("alice was online")
            return
        }
        #expect(open == second)
    }

    @Test("the estimate uses the agents present for the line when given")
    func estimateWithPresence() {
        var estimator = QueueWaitEstimator()
        for index in 0..<3 {
            estimator.answered(line: "line1", agent: "a\(index)", at: t0)
            estimator.ended(line: "line1", handleSeconds: 300, at: t0 + 300)
        }
        #expect(estimator.estimate(line: "line1", position: 2, now: t0 + 301) == 200)
        #expect(estimator.estimate(line: "line1", position: 2, now: t0 + 301, agentsPresent: 1) == 600)
        #expect(estimator.estimate(line: "line1", position: 2, now: t0 + 301, agentsPresent: 6) == 100)
    }
}
