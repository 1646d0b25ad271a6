import Foundation
import Logging
import TandemCore
import TandemProtocol
import TandemSQLite
import Testing

@Suite("SQLiteStore on a real database file")
struct SQLiteStoreTests {
    let directory: String
    let store: SQLiteStore
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    init() throws {
        directory = NSTemporaryDirectory() + "tandem-sqlite-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        store = try SQLiteStore(path: directory + "/tandem.sqlite", logger: Logger(label: "test"))
    }

    func session(_ id: String, ticket: String = "HD-1042", agent: String = "alice", at offset: TimeInterval = 0) -> SessionRecord {
        SessionRecord(id: id, ticket: ticket, agent: agent, mode: .camera, createdAt: t0.addingTimeInterval(offset), expiresAt: t0.addingTimeInterval(offset + 600))
    }

    @Test("users: add, look up by token hash, refuse duplicates, revoke")
    func users() async throws {
        let added = try await store.addUser(UserRecord(name: "alice", role: .agent, tokenHash: "h1", createdAt: t0))
        #expect(added.id != nil)
        #expect(try await store.user(tokenHash: "h1")?.name == "alice")
        #expect(try await store.user(tokenHash: "nope") == nil)
        await #expect(throws: StoreError.duplicateName) {
            try await store.addUser(UserRecord(name: "alice", role: .auditor, tokenHash: "h2", createdAt: t0))
        }
        #expect(try await store.revokeUser(name: "alice", at: t0))
        #expect(try await store.user(tokenHash: "h1")?.isActive == false)
        #expect(try await store.revokeUser(name: "alice", at: t0) == false)
        #expect(try await store.users().count == 1)
    }

    @Test("a session row holds join, ending, outcome and traffic; derived times are right")
    func sessionLifecycle() async throws {
        try await store.insertSession(session("s_1"))
        try await store.recordCustomerJoined(sessionID: "s_1", at: t0.addingTimeInterval(42), client: "tandem-swift/0.1", address: "192.0.2.7")
        let traffic = SessionTraffic(agentToCustomer: .init(frames: 3, bytes: 300), customerToAgent: .init(frames: 90, bytes: 18_000_000))
        let ending = SessionEnding(endedAt: t0.addingTimeInterval(342), reason: .agentEnded, outcome: .escalated, note: "to line 2", traffic: traffic)
        try await store.recordEnding(sessionID: "s_1", ending: ending)
        let record = try #require(try await store.session(id: "s_1"))
        #expect(record.customerClient == "tandem-swift/0.1")
        #expect(record.customerAddress == "192.0.2.7")
        #expect(record.waitSeconds == 42)
        #expect(record.connectedSeconds == 300)
        #expect(record.durationSeconds == 342)
        #expect(record.endReason == .agentEnded)
        #expect(record.outcome == .escalated)
        #expect(record.note == "to line 2")
        #expect(record.traffic == traffic)
        // An ending is written once: a second one is refused and changes nothing.
        await #expect(throws: StoreError.notFound) {
            try await store.recordEnding(sessionID: "s_1", ending: SessionEnding(endedAt: t0, reason: .customerLeft, outcome: nil, note: nil, traffic: .init()))
        }
        #expect(try await store.session(id: "s_1")?.endReason == .agentEnded)
    }

    @Test("a late outcome is recorded only for an ended session without one")
    func lateOutcome() async throws {
        try await store.insertSession(session("s_2"))
        #expect(try await store.recordLateOutcome(sessionID: "s_2", outcome: .resolved, note: nil) == false)
        try await store.recordEnding(sessionID: "s_2", ending: SessionEnding(endedAt: t0.addingTimeInterval(9), reason: .customerLeft, outcome: nil, note: nil, traffic: .init()))
        #expect(try await store.recordLateOutcome(sessionID: "s_2", outcome: .resolved, note: "called back") == true)
        #expect(try await store.recordLateOutcome(sessionID: "s_2", outcome: .unresolved, note: nil) == false)
        let record = try #require(try await store.session(id: "s_2"))
        #expect(record.outcome == .resolved)
        #expect(record.note == "called back")
    }

    @Test("queries filter by ticket and agent, newest first, with a limit")
    func queries() async throws {
        try await store.insertSession(session("s_a", ticket: "HD-1", agent: "alice", at: 0))
        try await store.insertSession(session("s_b", ticket: "HD-1", agent: "bob", at: 10))
        try await store.insertSession(session("s_c", ticket: "HD-2", agent: "alice", at: 20))
        #expect(try await store.sessions(matching: SessionFilter(ticket: "HD-1")).map(\.id) == ["s_b", "s_a"])
        #expect(try await store.sessions(matching: SessionFilter(agent: "alice")).map(\.id) == ["s_c", "s_a"])
        #expect(try await store.sessions(matching: SessionFilter(ticket: "HD-1", agent: "alice")).map(\.id) == ["s_a"])
        #expect(try await store.sessions(matching: SessionFilter(limit: 2)).map(\.id) == ["s_c", "s_b"])
        #expect(try await store.sessions(matching: SessionFilter(since: t0.addingTimeInterval(10))).map(\.id) == ["s_c", "s_b"])
        #expect(try await store.sessions(matching: SessionFilter(until: t0.addingTimeInterval(10))).map(\.id) == ["s_a"])
        try await store.recordEnding(sessionID: "s_b", ending: SessionEnding(endedAt: t0.addingTimeInterval(90), reason: .agentEnded, outcome: .escalated, note: nil, traffic: .init()))
        #expect(try await store.sessions(matching: SessionFilter(outcome: .escalated)).map(\.id) == ["s_b"])
    }

    @Test("sessions left open by a dead broker are closed with its end reason, after a reopen")
    func crashRecovery() async throws {
        try await store.insertSession(session("s_open"))
        try await store.recordCustomerJoined(sessionID: "s_open", at: t0.addingTimeInterval(5), client: nil, address: nil)
        try await store.recordActivity(sessionIDs: ["s_open"], at: t0.addingTimeInterval(20))
        try await store.recordEvent(sessionID: "s_open", kind: "stream.started", actor: "customer", detail: [:], at: t0.addingTimeInterval(25))
        try await store.recordActivity(sessionIDs: ["s_open"], at: t0.addingTimeInterval(30))
        try await store.insertSession(session("s_waiting", at: 1))
        try await store.insertSession(session("s_done"))
        try await store.recordEnding(sessionID: "s_done", ending: SessionEnding(endedAt: t0.addingTimeInterval(50), reason: .agentEnded, outcome: .resolved, note: nil, traffic: .init()))
        let reopened = try SQLiteStore(path: directory + "/tandem.sqlite", logger: Logger(label: "test"))
        #expect(try await reopened.closeOpenSessions(reason: .brokerCrash) == 2)
        let open = try #require(try await reopened.session(id: "s_open"))
        #expect(open.endReason == .brokerCrash)
        #expect(open.endedBy == "broker")
        // Closed at its last recorded activity, not at the join.
        #expect(open.endedAt == t0.addingTimeInterval(30))
        #expect(open.connectedSeconds == 25)
        // Nobody joined and no activity was recorded: closed at its creation.
        #expect(try await reopened.session(id: "s_waiting")?.endedAt == t0.addingTimeInterval(1))
        #expect(try await reopened.events(sessionID: "s_open").map(\.kind) == ["session.created", "customer.joined", "stream.started", "session.ended"])
        #expect(try await reopened.session(id: "s_done")?.endReason == .agentEnded)
        #expect(try await reopened.closeOpenSessions(reason: .brokerCrash) == 0)
    }
}
