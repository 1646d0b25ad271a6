import Foundation
import GRDB
import Logging
import TandemCore
import TandemProtocol
import TandemSQLite
import Testing

@Suite("Audit hash chain on a real SQLite file: every kind of tampering is found")
struct AuditChainTests {
    let path: String
    let store: SQLiteStore
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    let signer = AuditSigner()

    init() async throws {
        (path, store) = try await AuditFixture.make("audit")
    }

    func verify() async throws -> AuditVerification {
        try await store.verifyAuditLog(publicKey: signer.publicKey)
    }

    /// Opens the file behind the store's back, as an attacker with file access would.
    func tamper(_ sql: String, _ arguments: StatementArguments = []) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in try db.execute(sql: sql, arguments: arguments) }
    }

    @Test("an event linked to the wrong predecessor is reported as inserted")
    func wrongLink() async throws {
        // Rewrite event 6 so it hashes correctly but names another predecessor.
        let queue = try DatabaseQueue(path: path)
        let row = try await queue.read { db in try Row.fetchOne(db, sql: "SELECT * FROM audit_events WHERE seq = 6")! }
        let other = try await queue.read { db in try String.fetchOne(db, sql: "SELECT hash FROM audit_events WHERE seq = 2")! }
        let detail = try JSONDecoder().decode([String: String].self, from: Data((row["detail"] as String).utf8))
        let millis: Int64 = row["at_ms"]
        let hash = AuditChain.hash(
            seq: 6,
            at: Date(timeIntervalSince1970: Double(millis) / 1000),
            sessionID: row["session_id"],
            kind: AuditEventKind(rawValue: row["kind"]),
            actor: row["actor"],
            detail: detail,
            previousHash: other
        )
        try tamper("UPDATE audit_events SET previous_hash = ?, hash = ? WHERE seq = 6", [other, hash])
        let result = try await verify()
        #expect(result.status == .inserted)
        #expect(result.firstBadSeq == 6)
    }

    @Test("an untouched log is intact, with its count and head hash")
    func intact() async throws {
        let result = try await verify()
        #expect(result.status == .intact)
        #expect(result.count == 11)
        #expect(result.headHash?.count == 64)
        #expect(result.checkpoints == 0)
        #expect(result.unsignedEvents == 11)
        #expect(try await store.events(sessionID: "s_1").map(\.kind) == ["session.created", "customer.joined", "session.ended"])
    }

    @Test("editing a field is reported as altered at that event")
    func edit() async throws {
        try tamper("UPDATE audit_events SET detail = replace(detail, 'resolved', 'escalated') WHERE seq = 7")
        let result = try await verify()
        #expect(result.status == .altered)
        #expect(result.firstBadSeq == 7)
    }

    @Test("editing the time is found too")
    func editTime() async throws {
        try tamper("UPDATE audit_events SET at_ms = at_ms + 1 WHERE seq = 3")
        #expect(try await verify().firstBadSeq == 3)
    }

    @Test("deleting an event is reported as deleted where the gap starts")
    func delete() async throws {
        try tamper("DELETE FROM audit_events WHERE seq = 5")
        let result = try await verify()
        #expect(result.status == .deleted)
        #expect(result.firstBadSeq == 5)
    }

    @Test("swapping two events is found")
    func reorder() async throws {
        try tamper("UPDATE audit_events SET seq = -1 WHERE seq = 4")
        try tamper("UPDATE audit_events SET seq = 4 WHERE seq = 5")
        try tamper("UPDATE audit_events SET seq = 5 WHERE seq = -1")
        let result = try await verify()
        #expect(result.status != .intact)
        #expect(result.firstBadSeq == 4)
    }

    @Test("inserting a forged event with a valid hash of its own is found right after it")
    func insert() async throws {
        // Make room at seq 6 and forge an event that hashes correctly over the previous hash.
        try tamper("UPDATE audit_events SET seq = seq + 100 WHERE seq >= 6")
        try tamper("UPDATE audit_events SET seq = seq - 99 WHERE seq >= 106")
        let queue = try DatabaseQueue(path: path)
        let previous = try await queue.read { db in try String.fetchOne(db, sql: "SELECT hash FROM audit_events WHERE seq = 5")! }
        let forged = AuditChain.hash(
            seq: 6,
            at: t0,
            sessionID: "s_1",
            kind: "consent.granted",
            actor: "customer",
            detail: [:],
            previousHash: previous
        )
        try tamper(
            "INSERT INTO audit_events (seq, at_ms, session_id, kind, actor, detail, previous_hash, hash) VALUES (6, ?, 's_1', 'consent.granted', 'customer', '{}', ?, ?)",
            [Int64(t0.timeIntervalSince1970 * 1000), previous, forged]
        )
        // The forged event itself verifies; the renumbered event after it does not.
        let result = try await verify()
        #expect(result.status == .altered)
        #expect(result.firstBadSeq == 7)
    }

    @Test("random mutations of random events are always found", arguments: 0..<40)
    func randomMutation(_ round: Int) async throws {
        var generator = SystemRandomNumberGenerator()
        let seq = Int64.random(in: 1...11, using: &generator)
        let mutations = [
            "UPDATE audit_events SET kind = kind || 'x' WHERE seq = ?",
            "UPDATE audit_events SET actor = 'mallory' WHERE seq = ?",
            "UPDATE audit_events SET session_id = 's_9' WHERE seq = ?",
            "UPDATE audit_events SET detail = '{\"forged\":\"1\"}' WHERE seq = ?",
            "UPDATE audit_events SET at_ms = at_ms - 5000 WHERE seq = ?",
            "UPDATE audit_events SET previous_hash = hash WHERE seq = ?",
            "UPDATE audit_events SET hash = previous_hash WHERE seq = ?",
            "DELETE FROM audit_events WHERE seq = ?",
        ]
        let mutation = mutations[round % mutations.count]
        try tamper(mutation, [seq])
        let result = try await verify()
        // Deleting the last event is truncation, which needs signed checkpoints to detect
        // (see the checkpoint tests).
        if mutation.hasPrefix("DELETE"), seq == 11 {
            #expect(result.status == .intact && result.count == 10)
        } else {
            #expect(result.status != .intact, "\(mutation) at \(seq) went unnoticed")
            #expect(result.firstBadSeq == seq || (result.firstBadSeq == seq + 1 && mutation.contains("SET hash")))
        }
    }
}
