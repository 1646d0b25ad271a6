import Foundation
import TandemCore
import TandemProtocol
import Testing

@Suite("AuditStats from session records")
struct AuditStatsTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func record(_ ticket: String, wait: Double?, handle: Double?, outcome: SessionOutcome?, reason: EndReason? = .agentEnded) -> SessionRecord {
        let joined = wait.map { t0.addingTimeInterval($0) }
        let ended: Date? = reason == nil ? nil : (joined ?? t0).addingTimeInterval(handle ?? 60)
        return SessionRecord(
            id: "s_\(UUID().uuidString.prefix(8))",
            ticket: ticket,
            agent: "alice",
            mode: .camera,
            createdAt: t0,
            expiresAt: t0.addingTimeInterval(600),
            customerJoinedAt: joined,
            endedAt: ended,
            endReason: reason,
            outcome: outcome
        )
    }

    @Test("rates, medians and breakdowns follow the documented definitions")
    func definitions() {
        let sessions = [
            record("HD-1", wait: 10, handle: 100, outcome: .resolved),
            record("HD-2", wait: 20, handle: 200, outcome: .escalated),
            record("HD-2", wait: 30, handle: 300, outcome: .resolved),
            record("HD-3", wait: nil, handle: nil, outcome: nil, reason: .expired),
            record("HD-4", wait: 40, handle: nil, outcome: nil, reason: nil),
        ]
        let stats = AuditStats(sessions: sessions, since: t0, until: nil)
        #expect(stats.sessions == 5)
        #expect(stats.live == 1)
        #expect(stats.tickets == 4)
        #expect(stats.answered == 4)
        #expect(stats.unanswered == 1)
        // Tickets with an ended session: HD-1 (one session, resolved), HD-2 (two), HD-3 (no outcome).
        #expect(stats.firstContactResolutionRate == 1.0 / 3.0)
        #expect(stats.escalationRate == 1.0 / 3.0)
        #expect(stats.medianWaitSeconds == 25)
        #expect(stats.medianHandleSeconds == 200)
        #expect(stats.outcomes == ["resolved": 2, "escalated": 1, "not-recorded": 1])
        #expect(stats.endReasons == ["agent-ended": 3, "expired": 1])
    }

    @Test("nothing to count gives nil rates and medians, not zero")
    func empty() {
        let stats = AuditStats(sessions: [], since: nil, until: nil)
        #expect(stats.firstContactResolutionRate == nil)
        #expect(stats.escalationRate == nil)
        #expect(stats.medianWaitSeconds == nil)
        #expect(AuditStats.median([3, 1, 2]) == 2)
    }
}

@Suite("Queue and transfer statistics")
struct QueueStatsTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func event(_ kind: AuditEventKind, session: String? = nil, _ detail: [String: String]) -> AuditEvent {
        AuditEvent(seq: 1, at: t0, sessionID: session, kind: kind, actor: nil, detail: detail, previousHash: "", hash: "")
    }

    @Test("share answered within 20 s counts answered plus abandoned; by tier")
    func share() {
        let stats = QueueStats(events: [
            event("queue.entered", ["tier": "premium"]), event("queue.entered", ["tier": "basic"]),
            event("queue.entered", ["tier": "basic"]), event("queue.entered", ["tier": "basic"]), event("queue.entered", ["tier": "basic"]),
            event("queue.answered", ["tier": "premium", "waitedMs": "3000"]),
            event("queue.answered", ["tier": "basic", "waitedMs": "20000"]),
            event("queue.answered", ["tier": "basic", "waitedMs": "45000"]),
            event("queue.left", ["tier": "basic", "waitedMs": "5000"]),
            event("session.created", ["tier": "basic"]),
        ])
        #expect(stats.entered == 5)
        #expect(stats.answered == 3)
        #expect(stats.abandoned == 1)
        #expect(stats.answeredWithinTarget == 2)
        #expect(stats.shareAnsweredWithinTarget == 0.5)
        #expect(stats.medianWaitSeconds == 20)
        #expect(stats.byTier["premium"]?.shareAnsweredWithinTarget == 1)
        #expect(stats.byTier["basic"]?.shareAnsweredWithinTarget == 1.0 / 3)
        #expect(stats.byTier["basic"]?.abandoned == 1)
        #expect(QueueStats(events: []).shareAnsweredWithinTarget == nil)
    }

    @Test("a transferred session counts as escalated; transfers of other sessions do not count")
    func escalation() {
        let sessions = [
            SessionRecord(
                id: "s_a",
                ticket: "HD-1",
                agent: "bob",
                mode: .screen,
                createdAt: t0,
                expiresAt: t0,
                customerJoinedAt: t0,
                endedAt: t0.addingTimeInterval(60),
                endReason: .agentEnded,
                outcome: .resolved
            ),
            SessionRecord(
                id: "s_b",
                ticket: "HD-2",
                agent: "alice",
                mode: .screen,
                createdAt: t0,
                expiresAt: t0,
                customerJoinedAt: t0,
                endedAt: t0.addingTimeInterval(60),
                endReason: .agentEnded,
                outcome: .resolved
            ),
            SessionRecord(
                id: "s_c",
                ticket: "HD-3",
                agent: "alice",
                mode: .screen,
                createdAt: t0,
                expiresAt: t0,
                customerJoinedAt: t0,
                endedAt: t0.addingTimeInterval(60),
                endReason: .transferUnanswered
            ),
        ]
        let stats = AuditStats(
            sessions: sessions,
            since: nil,
            until: nil,
            transfers: [
                event("session.transferred", session: "s_a", ["line": "line2"]),
                event("session.transferred", session: "s_a", ["toAgent": "bob"]),
                event("session.transferred", session: "s_c", ["line": "line2"]),
                event("session.transferred", session: "s_zzz", ["line": "line2"]),
            ]
        )
        #expect(stats.transferred == 2)
        #expect(stats.transfers == 3)
        #expect(stats.escalationRate == 2.0 / 3)
    }
}
