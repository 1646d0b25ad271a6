import GRDB
import Logging
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension SQLiteStore {
    static func checkpoint(from row: Row) throws -> AuditCheckpoint {
        guard let kind = AuditCheckpoint.Kind(rawValue: row["kind"]) else { throw StoreError.notFound }
        let millis: Int64 = row["at_ms"]
        return AuditCheckpoint(
            id: row["id"],
            at: Date(epochMilliseconds: millis),
            kind: kind,
            seq: row["seq"],
            headHash: row["head_hash"],
            actor: row["actor"],
            prunedThroughSeq: row["pruned_through_seq"],
            prunedThroughHash: row["pruned_through_hash"],
            publicKey: row["public_key"],
            signature: row["signature"],
            treeHead: try TreeHead.fromStored(row["tree_head"])
        )
    }

    public func attachTreeHead(_ head: TreeHead, checkpointID: Int64) async throws {
        let json = String(decoding: try TandemJSON.makeEncoder().encode(head), as: UTF8.self)
        try await write { db in
            try db.execute(sql: "UPDATE audit_checkpoints SET tree_head = ? WHERE id = ? AND tree_head IS NULL", arguments: [json, checkpointID])
        }
    }

    public func checkpoints() async throws -> [AuditCheckpoint] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit_checkpoints ORDER BY id").map(Self.checkpoint(from:))
        }
    }

    public func writeCheckpoint(
        kind: AuditCheckpoint.Kind,
        actor: String,
        at: Date,
        signer: AuditSigner,
        onlyIfNew: Bool
    ) async throws -> AuditCheckpoint? {
        let checkpoint = try await write { db -> AuditCheckpoint? in
            let head = try Self.head(db)
            let last = try Row.fetchOne(db, sql: "SELECT id, seq FROM audit_checkpoints ORDER BY id DESC LIMIT 1")
            if onlyIfNew, let last, (last["seq"] as Int64) == head.seq { return nil }
            return try Self.insertCheckpoint(
                db,
                AuditCheckpoint(id: (last?["id"] as Int64? ?? 0) + 1, at: at, kind: kind, seq: head.seq, headHash: head.hash, actor: actor),
                signer: signer
            )
        }
        // Also when nothing was signed: a reader may have held back the last one.
        await checkpointWAL()
        return checkpoint
    }

    /// Copies the WAL into the database file (and syncs it) after a signed checkpoint, so
    /// what was signed no longer depends on the `-wal` file (§11.7). Passive: never waits
    /// for readers or blocks writers; what a reader still uses is copied by a later one.
    func checkpointWAL() async {
        do {
            let (walFrames, copied) = try await pool.writeWithoutTransaction { db in try db.checkpoint(.passive) }
            if copied < walFrames {
                logger.debug(
                    "WAL checkpoint incomplete (readers)",
                    metadata: ["tandem.wal.frames": "\(walFrames)", "tandem.wal.copied": "\(copied)"]
                )
            }
        } catch {
            logger.warning("WAL checkpoint failed", metadata: ["error": "\(error)"])
        }
    }

    public func prune(before: Date, actor: String, at: Date, signer: AuditSigner) async throws -> PruneResult {
        let result = try await write { db -> PruneResult in
            let beforeMillis = Int64((before.timeIntervalSince1970 * 1000).rounded(.down))
            // Only a prefix can go: up to the event before the first one at or after `before`.
            let firstKept = try Int64.fetchOne(db, sql: "SELECT MIN(seq) FROM audit_events WHERE at_ms >= ?", arguments: [beforeMillis])
            let oldest = try Int64.fetchOne(db, sql: "SELECT MIN(seq) FROM audit_events")
            let head = try Self.head(db)
            let through = firstKept.map { $0 - 1 } ?? head.seq
            guard let oldest, through >= oldest else {
                return PruneResult(removedEvents: 0, prunedThroughSeq: nil, checkpoint: nil)
            }
            guard let throughHash = try String.fetchOne(db, sql: "SELECT hash FROM audit_events WHERE seq = ?", arguments: [through]) else {
                throw StoreError.notFound
            }
            let nextID = (try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM audit_checkpoints") ?? 0) + 1
            let checkpoint = try Self.insertCheckpoint(
                db,
                AuditCheckpoint(
                    id: nextID,
                    at: at,
                    kind: .prune,
                    seq: head.seq,
                    headHash: head.hash,
                    actor: actor,
                    prunedThroughSeq: through,
                    prunedThroughHash: throughHash
                ),
                signer: signer
            )
            try db.execute(sql: "DELETE FROM audit_events WHERE seq <= ?", arguments: [through])
            let removed = Int64(db.changesCount)
            try Self.appendEvent(
                db,
                at: at,
                sessionID: nil,
                kind: .auditPruned,
                actor: actor,
                detail: [
                    "before": before.formatted(.iso8601), "removedEvents": String(removed),
                    "prunedThroughSeq": String(through), "checkpoint": String(checkpoint.id),
                ]
            )
            return PruneResult(removedEvents: removed, prunedThroughSeq: through, checkpoint: checkpoint)
        }
        if result.checkpoint != nil { await checkpointWAL() }
        return result
    }

    /// Seq and hash of the newest event; after a prune that removed everything, the anchor.
    static func head(_ db: Database) throws -> (seq: Int64, hash: String) {
        if let row = try Row.fetchOne(db, sql: "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1") {
            return (row["seq"], row["hash"])
        }
        if let row = try Row.fetchOne(
            db,
            sql: "SELECT pruned_through_seq, pruned_through_hash FROM audit_checkpoints WHERE kind = 'prune' ORDER BY pruned_through_seq DESC LIMIT 1"
        ) {
            return (row["pruned_through_seq"], row["pruned_through_hash"])
        }
        return (0, AuditChain.genesis)
    }

    private static func insertCheckpoint(_ db: Database, _ unsigned: AuditCheckpoint, signer: AuditSigner) throws -> AuditCheckpoint {
        let signed = try signer.sign(unsigned)
        try db.execute(
            sql: """
                INSERT INTO audit_checkpoints
                    (id, at_ms, kind, seq, head_hash, actor, pruned_through_seq, pruned_through_hash, public_key, signature)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                signed.id, signed.at.epochMilliseconds, signed.kind.rawValue, signed.seq, signed.headHash,
                signed.actor, signed.prunedThroughSeq, signed.prunedThroughHash, signed.publicKey, signed.signature,
            ]
        )
        return signed
    }
}
