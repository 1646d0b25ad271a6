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
            id: "s_\(UUID().uuidString.prefix(8))", ticket: ticket, agent: "alice", mode: .camera, createdAt: t0, expiresAt: t0.addingTimeInterval(600),
            customerJoinedAt: joined, endedAt: ended, endReason: reason, outcome: outcome
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
