import Foundation
import Logging
import TandemCore
import TandemPostgres
import TandemProtocol
import TandemSQLite
import Testing

/// The store contract, run against every available store: a real SQLite file and a real
/// PostgreSQL server (scripts/test.sh starts one).
@Suite("Store suite on SQLite and PostgreSQL")
struct StoreTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test(
        "PostgreSQL is part of this run",
        .enabled(
            if: StoreKind.postgresURL != nil,
            "TANDEM_TEST_POSTGRES_URL is not set: the suite ran on SQLite only (scripts/test.sh starts PostgreSQL)"
        )
    )
    func postgresConfigured() {
        #expect(StoreKind.available.contains(.postgres))
    }

    func session(_ id: String, ticket: String = "HD-1042", agent: String = "alice", at offset: TimeInterval = 0) -> SessionRecord {
        SessionRecord(
            id: id,
            ticket: ticket,
            agent: agent,
            mode: .camera,
            createdAt: t0.addingTimeInterval(offset),
            expiresAt: t0.addingTimeInterval(offset + 600)
        )
    }

    @Test("users: add, look up by token hash, refuse duplicates, revoke", arguments: StoreKind.available)
    func users(kind: StoreKind) async throws {
        try await StoreHarness.with(kind) { store, harness in
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
    }

    @Test("a session row holds join, ending, outcome and traffic; derived times are right", arguments: StoreKind.available)
    func sessionLifecycle(kind: StoreKind) async throws {
        try await StoreHarness.with(kind) { store, harness in
            try await store.insertSession(session("s_1"))
            try await store.recordCustomerJoined(sessionID: "s_1", at: t0.addingTimeInterval(42), client: "tandem-swift/0.1", address: "192.0.2.7")
            let traffic = SessionTraffic(agentToCustomer: .init(frames: 3, bytes: 300), customerToAgent: .init(frames: 90, bytes: 18_000_000))
            let ending = SessionEnding(
                endedAt: t0.addingTimeInterval(342),
                reason: .agentEnded,
                outcome: .escalated,
                note: "to line 2",
                traffic: traffic
            )
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
                try await store.recordEnding(
                    sessionID: "s_1",
                    ending: SessionEnding(endedAt: t0, reason: .customerLeft, outcome: nil, note: nil, traffic: .init())
                )
            }
            #expect(try await store.session(id: "s_1")?.endReason == .agentEnded)
        }
    }

    @Test(
        "a takeover makes the live session the new agent's and logs transfer.answered; an ended session cannot be taken over",
        arguments: StoreKind.available
    )
    func takeover(kind: StoreKind) async throws {
        try await StoreHarness.with(kind) { store, harness in
            try await store.insertSession(session("s_t"))
            try await store.recordCustomerJoined(sessionID: "s_t", at: t0.addingTimeInterval(5), client: nil, address: nil)
            try await store.recordTakeover(
                sessionID: "s_t",
                agent: "bob",
                detail: ["from": "alice", "line": "line2", "waitedMs": "1500"],
                at: t0.addingTimeInterval(60)
            )
            #expect(try await store.session(id: "s_t")?.agent == "bob")
            #expect(try await store.sessions(matching: SessionFilter(agent: "bob")).map(\.id) == ["s_t"])
            let event = try #require(try await store.events(sessionID: "s_t").last)
            #expect(event.kind == "transfer.answered")
            #expect(event.actor == "bob")
            #expect(event.detail.filter { $0.key != AuditEvent.sessionSeqKey } == ["from": "alice", "line": "line2", "waitedMs": "1500"])
            // Each of the session's events has its number in the session, 1, 2, 3, … (§11.9).
            let numbers = try await store.events(sessionID: "s_t").map(\.sessionSeq)
            #expect(numbers == (1...Int64(numbers.count)).map { Optional($0) })
            try await store.recordEnding(
                sessionID: "s_t",
                ending: SessionEnding(endedAt: t0.addingTimeInterval(90), reason: .agentEnded, outcome: .resolved, note: nil, traffic: .init())
            )
            await #expect(throws: StoreError.notFound) {
                try await store.recordTakeover(sessionID: "s_t", agent: "carol", detail: [:], at: t0.addingTimeInterval(100))
            }
            #expect(try await store.session(id: "s_t")?.agent == "bob")
            // A queue session has no code: its creation event says so.
            try await store.insertSession(SessionRecord(id: "s_q", ticket: "HD-9", agent: "alice", mode: .screen, createdAt: t0, expiresAt: t0))
            let created = try #require(try await store.events(sessionID: "s_q").first)
            #expect(created.detail["codeIssued"] == "false")
            #expect(created.detail["expiresAt"] == nil)
        }
    }

    @Test("a late outcome is recorded only for an ended session without one", arguments: StoreKind.available)
    func lateOutcome(kind: StoreKind) async throws {
        try await StoreHarness.with(kind) { store, harness in
            try await store.insertSession(session("s_2"))
            #expect(try await store.recordLateOutcome(sessionID: "s_2", outcome: .resolved, note: nil) == false)
            try await store.recordEnding(
                sessionID: "s_2",
                ending: SessionEnding(endedAt: t0.addingTimeInterval(9), reason: .customerLeft, outcome: nil, note: nil, traffic: .init())
            )
            #expect(try await store.recordLateOutcome(sessionID: "s_2", outcome: .resolved, note: "called back") == true)
            #expect(try await store.recordLateOutcome(sessionID: "s_2", outcome: .unresolved, note: nil) == false)
            let record = try #require(try await store.session(id: "s_2"))
            #expect(record.outcome == .resolved)
            #expect(record.note == "called back")
        }
    }

    @Test("queries filter by ticket and agent, newest first, with a limit", arguments: StoreKind.available)
    func queries(kind: StoreKind) async throws {
        try await StoreHarness.with(kind) { store, harness in
            try await store.insertSession(session("s_a", ticket: "HD-1", agent: "alice", at: 0))
            try await store.insertSession(session("s_b", ticket: "HD-1", agent: "bob", at: 10))
            try await store.insertSession(session("s_c", ticket: "HD-2", agent: "alice", at: 20))
            #expect(try await store.sessions(matching: SessionFilter(ticket: "HD-1")).map(\.id) == ["s_b", "s_a"])
            #expect(try await store.sessions(matching: SessionFilter(agent: "alice")).map(\.id) == ["s_c", "s_a"])
            #expect(try await store.sessions(matching: SessionFilter(ticket: "HD-1", agent: "alice")).map(\.id) == ["s_a"])
            #expect(try await store.sessions(matching: SessionFilter(limit: 2)).map(\.id) == ["s_c", "s_b"])
            #expect(try await store.sessions(matching: SessionFilter(since: t0.addingTimeInterval(10))).map(\.id) == ["s_c", "s_b"])
            #expect(try await store.sessions(matching: SessionFilter(until: t0.addingTimeInterval(10))).map(\.id) == ["s_a"])
            try await store.recordEnding(
                sessionID: "s_b",
                ending: SessionEnding(endedAt: t0.addingTimeInterval(90), reason: .agentEnded, outcome: .escalated, note: nil, traffic: .init())
            )
            #expect(try await store.sessions(matching: SessionFilter(outcome: .escalated)).map(\.id) == ["s_b"])
        }
    }

    @Test("sessions left open by a dead broker are closed with its end reason, after a reopen", arguments: StoreKind.available)
    func crashRecovery(kind: StoreKind) async throws {
        try await StoreHarness.with(kind) { store, harness in
            try await store.insertSession(session("s_open"))
            try await store.recordCustomerJoined(sessionID: "s_open", at: t0.addingTimeInterval(5), client: nil, address: nil)
            try await store.recordActivity(sessionIDs: ["s_open"], at: t0.addingTimeInterval(20))
            try await store.recordEvent(sessionID: "s_open", kind: "stream.started", actor: "customer", detail: [:], at: t0.addingTimeInterval(25))
            try await store.recordActivity(sessionIDs: ["s_open"], at: t0.addingTimeInterval(30))
            try await store.insertSession(session("s_waiting", at: 1))
            try await store.insertSession(session("s_done"))
            try await store.recordEnding(
                sessionID: "s_done",
                ending: SessionEnding(endedAt: t0.addingTimeInterval(50), reason: .agentEnded, outcome: .resolved, note: nil, traffic: .init())
            )
            let reopened = try harness.open()
            #expect(try await reopened.closeOpenSessions(reason: .brokerCrash) == 2)
            let open = try #require(try await reopened.session(id: "s_open"))
            #expect(open.endReason == .brokerCrash)
            #expect(open.endedBy == "broker")
            // Closed at its last recorded activity, not at the join.
            #expect(open.endedAt == t0.addingTimeInterval(30))
            #expect(open.connectedSeconds == 25)
            // Nobody joined and no activity was recorded: closed at its creation.
            #expect(try await reopened.session(id: "s_waiting")?.endedAt == t0.addingTimeInterval(1))
            #expect(
                try await reopened.events(sessionID: "s_open").map(\.kind) == [
                    "session.created", "customer.joined", "stream.started", "session.ended",
                ]
            )
            #expect(try await reopened.session(id: "s_done")?.endReason == .agentEnded)
            #expect(try await reopened.closeOpenSessions(reason: .brokerCrash) == 0)
        }
    }

    @Test("two stores on one database extend one audit chain; checkpoints and a prune verify", arguments: StoreKind.available)
    func twoWriters(kind: StoreKind) async throws {
        try await StoreHarness.with(kind) { store, harness in
            let other = try harness.open()
            let signer = AuditSigner()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, writer) in [store, other].enumerated() {
                    group.addTask {
                        for event in 0..<40 {
                            try await writer.recordEvent(
                                sessionID: nil,
                                kind: "test.event",
                                actor: "broker-\(index)",
                                detail: ["n": String(event)],
                                at: t0.addingTimeInterval(Double(event))
                            )
                        }
                    }
                }
                try await group.waitForAll()
            }
            _ = try await other.writeCheckpoint(kind: .periodic, actor: "broker", at: t0.addingTimeInterval(50), signer: signer, onlyIfNew: true)
            #expect(
                try await store.writeCheckpoint(kind: .periodic, actor: "broker", at: t0.addingTimeInterval(51), signer: signer, onlyIfNew: true)
                    == nil
            )
            let intact = try await store.verifyAuditLog(publicKey: signer.publicKey)
            #expect(intact.status == .intact)
            #expect(intact.count == 80)
            let pruned = try await store.prune(before: t0.addingTimeInterval(20), actor: "admin", at: t0.addingTimeInterval(60), signer: signer)
            #expect(pruned.removedEvents > 0)
            let after = try await other.verifyAuditLog(publicKey: signer.publicKey)
            #expect(after.status == .intact)
            #expect(after.prunedThroughSeq == pruned.prunedThroughSeq)
            #expect(try await other.auditEvents(since: nil, until: nil, limit: 1000).last?.kind == "audit.pruned")
        }
    }
}
