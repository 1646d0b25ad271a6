import Foundation
import GRDB
import Logging
import TandemCore
import TandemProtocol
import TandemSQLite
import Testing

@Suite("Signed audit checkpoints on a real SQLite file: truncation, recomputed chains, forged checkpoints, pruning")
struct AuditCheckpointTests {
    let path: String
    let store: SQLiteStore
    let signer: AuditSigner
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    /// Eleven events (a user, three sessions of three events, a failed join) with a
    /// checkpoint after event 4 and one after event 11.
    init() async throws {
        let signer = AuditSigner()
        self.signer = signer
        (path, store) = try await AuditFixture.make("checkpoint") { store in
            _ = try await store.writeCheckpoint(
                kind: .periodic,
                actor: "broker",
                at: AuditFixture.t0.addingTimeInterval(61),
                signer: signer,
                onlyIfNew: true
            )
        }
        _ = try await store.writeCheckpoint(kind: .periodic, actor: "broker", at: t0.addingTimeInterval(401), signer: signer, onlyIfNew: true)
    }

    func verify(_ key: AuditPublicKey? = nil) async throws -> AuditVerification {
        try await store.verifyAuditLog(publicKey: key ?? signer.publicKey)
    }

    func tamper(_ sql: String, _ arguments: StatementArguments = []) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in try db.execute(sql: sql, arguments: arguments) }
    }

    /// What an attacker with file access does after an edit: recompute every hash from `seq` on.
    func recomputeChain(from seq: Int64) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            var previous = try String.fetchOne(db, sql: "SELECT hash FROM audit_events WHERE seq = ?", arguments: [seq - 1]) ?? AuditChain.genesis
            for row in try Row.fetchAll(db, sql: "SELECT * FROM audit_events WHERE seq >= ? ORDER BY seq", arguments: [seq]) {
                let detail = try JSONDecoder().decode([String: String].self, from: Data((row["detail"] as String).utf8))
                let millis: Int64 = row["at_ms"]
                let hash = AuditChain.hash(
                    seq: row["seq"],
                    at: Date(timeIntervalSince1970: Double(millis) / 1000),
                    sessionID: row["session_id"],
                    kind: AuditEventKind(rawValue: row["kind"]),
                    actor: row["actor"],
                    detail: detail,
                    previousHash: previous
                )
                try db.execute(
                    sql: "UPDATE audit_events SET previous_hash = ?, hash = ? WHERE seq = ?",
                    arguments: [previous, hash, row["seq"] as Int64]
                )
                previous = hash
            }
        }
    }

    @Test("an untouched log with checkpoints is intact and says what the last checkpoint covers")
    func intact() async throws {
        let result = try await verify()
        #expect(result.status == .intact)
        #expect(result.count == 11)
        #expect(result.checkpoints == 2)
        #expect(result.lastCheckpointSeq == 11)
        #expect(result.unsignedEvents == 0)
        #expect(result.publicKeyFingerprint == signer.publicKey.fingerprint)
        // No new events: a periodic checkpoint is not written again.
        #expect(try await store.writeCheckpoint(kind: .periodic, actor: "broker", at: Date(), signer: signer, onlyIfNew: true) == nil)
    }

    @Test("cutting events off the end is reported as truncation")
    func truncation() async throws {
        try tamper("DELETE FROM audit_events WHERE seq >= 9")
        let result = try await verify()
        #expect(result.status == .truncated)
        #expect(result.firstBadSeq == 9)
    }

    @Test("events after the last checkpoint are counted as not yet signed")
    func unsignedTail() async throws {
        try await store.recordEvent(sessionID: nil, kind: "join.failed", actor: "customer", detail: [:], at: t0.addingTimeInterval(500))
        let result = try await verify()
        #expect(result.status == .intact)
        #expect(result.unsignedEvents == 1)
    }

    @Test("an edit followed by recomputing the whole chain is caught by the checkpoints")
    func recomputedChain() async throws {
        try tamper("UPDATE audit_events SET detail = replace(detail, 'resolved', 'unresolved') WHERE seq = 7")
        try recomputeChain(from: 7)
        let result = try await verify()
        #expect(result.status == .altered)
        // Events up to the checkpoint at #4 are vouched for; the change is in #5...#11.
        #expect(result.firstBadSeq == 5)
    }

    @Test("a checkpoint rewritten to match a recomputed chain fails its signature")
    func forgedCheckpoint() async throws {
        try tamper("UPDATE audit_events SET actor = 'mallory' WHERE seq = 10")
        try recomputeChain(from: 10)
        try tamper("UPDATE audit_checkpoints SET head_hash = (SELECT hash FROM audit_events WHERE seq = 11) WHERE id = 2")
        let result = try await verify()
        #expect(result.status == .badCheckpoint)
    }

    @Test("a checkpoint signed by another key, or a missing checkpoint, is reported")
    func wrongKeyAndMissingCheckpoint() async throws {
        #expect(try await verify(AuditSigner().publicKey).status == .badCheckpoint)
        try tamper("DELETE FROM audit_checkpoints WHERE id = 1")
        #expect(try await verify().status == .badCheckpoint)
    }

    @Test("prune removes a prefix under a signed checkpoint, logs who pruned, and the rest still verifies")
    func prune() async throws {
        // Everything before t0+150: the user and session s_0 (#1...#4) and s_1's creation and join (#5, #6).
        let result = try await store.prune(before: t0.addingTimeInterval(150), actor: "root", at: t0.addingTimeInterval(900), signer: signer)
        #expect(result.removedEvents == 6)
        #expect(result.prunedThroughSeq == 6)
        #expect(result.checkpoint?.kind == .prune)
        #expect(result.checkpoint?.actor == "root")
        let after = try await verify()
        #expect(after.status == .intact)
        #expect(after.prunedThroughSeq == 6)
        #expect(after.count == 6)  // #7...#11 and audit.pruned
        let pruned = try await store.auditEvents(since: nil, until: nil, limit: 100).last
        #expect(pruned?.kind == "audit.pruned")
        #expect(pruned?.actor == "root")
        #expect(pruned?.detail["removedEvents"] == "6")
        // The next prune only moves the anchor on, and an edit after it is still found.
        try tamper("UPDATE audit_events SET kind = 'session.forged' WHERE seq = 8")
        #expect(try await verify().status == .altered)
    }

    @Test("deleting the prune checkpoint (to hide the removal) is found")
    func pruneCheckpointRemoved() async throws {
        _ = try await store.prune(before: t0.addingTimeInterval(150), actor: "root", at: t0.addingTimeInterval(900), signer: signer)
        try tamper("DELETE FROM audit_checkpoints WHERE kind = 'prune'")
        let result = try await verify()
        #expect(result.status == .deleted)
        #expect(result.firstBadSeq == 1)
    }

    @Test("pruning everything leaves a verifiable empty log that continues from the anchor")
    func pruneEverything() async throws {
        let result = try await store.prune(before: t0.addingTimeInterval(10_000), actor: "root", at: t0.addingTimeInterval(10_001), signer: signer)
        #expect(result.removedEvents == 11)
        try await store.recordEvent(sessionID: nil, kind: "join.failed", actor: "customer", detail: [:], at: t0.addingTimeInterval(10_002))
        let after = try await verify()
        #expect(after.status == .intact)
        #expect(after.count == 2)
        #expect(try await store.auditEvents(since: nil, until: nil, limit: 10).map(\.seq) == [12, 13])
    }

    @Test("random tampering of events or checkpoints with a signed head is always found", arguments: 0..<60)
    func randomTampering(_ round: Int) async throws {
        var generator = SystemRandomNumberGenerator()
        let seq = Int64.random(in: 1...11, using: &generator)
        let forged = try AuditSigner().sign(AuditCheckpoint(id: 1, at: t0, kind: .periodic, seq: 4, headHash: "x", actor: "broker")).signature
        let mutations: [(String, [any DatabaseValueConvertible])] = [
            ("UPDATE audit_events SET kind = kind || 'x' WHERE seq = ?", [seq]),
            ("UPDATE audit_events SET detail = '{\"forged\":\"1\"}' WHERE seq = ?", [seq]),
            ("UPDATE audit_events SET at_ms = at_ms + 1 WHERE seq = ?", [seq]),
            ("DELETE FROM audit_events WHERE seq = ?", [seq]),
            ("DELETE FROM audit_events WHERE seq >= ?", [seq]),
            ("UPDATE audit_events SET seq = seq + 1000 WHERE seq = ?", [seq]),
            ("UPDATE audit_checkpoints SET seq = seq - 1 WHERE id = ?", [Int64(round % 2 + 1)]),
            ("UPDATE audit_checkpoints SET at_ms = at_ms + 1 WHERE id = ?", [Int64(round % 2 + 1)]),
            ("UPDATE audit_checkpoints SET signature = ? WHERE id = ?", [forged, Int64(round % 2 + 1)]),
        ]
        let (sql, arguments) = mutations[round % mutations.count]
        try tamper(sql, StatementArguments(arguments))
        if round % 3 == 0 { try recomputeChain(from: 1) }
        let result = try await verify()
        #expect(result.status != .intact, "\(sql) \(arguments) went unnoticed (recomputed: \(round % 3 == 0))")
    }
}
