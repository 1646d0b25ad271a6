import Logging
import PostgresNIO
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension PostgresStore {
    static let eventColumns = "seq, at_ms, session_id, kind, actor, detail, previous_hash, hash"
    static let checkpointColumns =
        "id, at_ms, kind, seq, head_hash, actor, pruned_through_seq, pruned_through_hash, public_key, signature, tree_head"

    /// Appends an event to the hash chain inside the caller's transaction (which holds the
    /// chain lock), so the event and the change it records commit together.
    @discardableResult
    static func appendEvent(
        _ connection: PostgresConnection,
        logger: Logger,
        at: Date,
        sessionID: String?,
        kind: AuditEventKind,
        actor: String?,
        detail: [String: String]
    ) async throws -> AuditEvent {
        let millis = at.epochMilliseconds
        let at = Date(epochMilliseconds: millis)
        var detail = detail
        if let sessionID {
            detail[AuditEvent.sessionSeqKey] = String(try await Self.nextSessionSeq(connection, logger: logger, sessionID: sessionID))
        }
        let head = try await Self.head(connection, logger: logger)
        let seq = head.seq + 1
        let hash = AuditChain.hash(seq: seq, at: at, sessionID: sessionID, kind: kind, actor: actor, detail: detail, previousHash: head.hash)
        let detailJSON = String(decoding: try TandemJSON.makeEncoder().encode(detail), as: UTF8.self)
        try await connection.query(
            """
            INSERT INTO audit_events (seq, at_ms, session_id, kind, actor, detail, previous_hash, hash)
            VALUES (\(seq), \(millis), \(sessionID), \(kind.rawValue), \(actor), \(detailJSON), \(head.hash), \(hash))
            """,
            logger: logger
        )
        return AuditEvent(seq: seq, at: at, sessionID: sessionID, kind: kind, actor: actor, detail: detail, previousHash: head.hash, hash: hash)
    }

    /// The next `sessionSeq` of the session (§11.9): one more than its newest event's; for a
    /// session whose events predate the numbering, one more than how many it has. The
    /// caller holds the log's append lock, so two brokers never give out the same number.
    static func nextSessionSeq(_ connection: PostgresConnection, logger: Logger, sessionID: String) async throws -> Int64 {
        let newest = try await connection.query(
            "SELECT detail FROM audit_events WHERE session_id = \(sessionID) ORDER BY seq DESC LIMIT 1",
            logger: logger
        )
        var found: String?
        for try await detail in newest.decode(String.self) { found = detail }
        guard let found else { return 1 }
        if let number = AuditEvent.sessionSeq(inDetailJSON: found) { return number + 1 }
        for try await count in try await connection.query("SELECT COUNT(*) FROM audit_events WHERE session_id = \(sessionID)", logger: logger)
            .decode(Int64.self)
        {
            return count + 1
        }
        return 1
    }

    /// Seq and hash of the newest event; after a prune that removed everything, the anchor.
    static func head(_ connection: PostgresConnection, logger: Logger) async throws -> (seq: Int64, hash: String) {
        for try await (seq, hash) in try await connection.query("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1", logger: logger)
            .decode((Int64, String).self)
        {
            return (seq, hash)
        }
        let anchors = try await connection.query(
            """
            SELECT pruned_through_seq, pruned_through_hash FROM audit_checkpoints
            WHERE kind = 'prune' ORDER BY pruned_through_seq DESC LIMIT 1
            """,
            logger: logger
        )
        for try await (seq, hash) in anchors.decode((Int64, String).self) { return (seq, hash) }
        return (0, AuditChain.genesis)
    }

    /// Events of `query`; with `lenient`, rows that do not parse are skipped and the first
    /// such seq is returned (they count as altered).
    static func events(
        _ connection: PostgresConnection,
        logger: Logger,
        _ query: PostgresQuery,
        lenient: Bool = false
    ) async throws -> ([AuditEvent], Int64?) {
        var events: [AuditEvent] = []
        var unreadable: Int64?
        for try await (seq, millis, sessionID, kind, actor, detailJSON, previousHash, hash) in try await connection.query(query, logger: logger)
            .decode((Int64, Int64, String?, String, String?, String, String, String).self)
        {
            guard let detail = try? TandemJSON.makeDecoder().decode([String: String].self, from: Data(detailJSON.utf8)) else {
                guard lenient else { throw StoreError.notFound }
                unreadable = unreadable ?? seq
                continue
            }
            events.append(
                AuditEvent(
                    seq: seq,
                    at: Date(epochMilliseconds: millis),
                    sessionID: sessionID,
                    kind: AuditEventKind(rawValue: kind),
                    actor: actor,
                    detail: detail,
                    previousHash: previousHash,
                    hash: hash
                )
            )
        }
        return (events, unreadable)
    }

    static func checkpoints(_ connection: PostgresConnection, logger: Logger, _ query: PostgresQuery) async throws -> [AuditCheckpoint] {
        var checkpoints: [AuditCheckpoint] = []
        for try await row in try await connection.query(query, logger: logger) {
            let cells = row.makeRandomAccess()
            guard let kind = AuditCheckpoint.Kind(rawValue: try cells["kind"].decode(String.self)) else { throw StoreError.notFound }
            checkpoints.append(
                AuditCheckpoint(
                    id: try cells["id"].decode(Int64.self),
                    at: Date(epochMilliseconds: try cells["at_ms"].decode(Int64.self)),
                    kind: kind,
                    seq: try cells["seq"].decode(Int64.self),
                    headHash: try cells["head_hash"].decode(String.self),
                    actor: try cells["actor"].decode(String.self),
                    prunedThroughSeq: try cells["pruned_through_seq"].decode(Int64?.self),
                    prunedThroughHash: try cells["pruned_through_hash"].decode(String?.self),
                    publicKey: try cells["public_key"].decode(String.self),
                    signature: try cells["signature"].decode(String.self),
                    treeHead: try TreeHead.fromStored(try cells["tree_head"].decode(String?.self))
                )
            )
        }
        return checkpoints
    }

    public func recordEvent(sessionID: String?, kind: AuditEventKind, actor: String?, detail: [String: String], at: Date) async throws {
        try await write { connection in
            try await Self.appendEvent(connection, logger: logger, at: at, sessionID: sessionID, kind: kind, actor: actor, detail: detail)
            if let sessionID {
                try await connection.query(
                    "UPDATE sessions SET last_activity_ms = \(at.epochMilliseconds) WHERE id = \(sessionID) AND ended_ms IS NULL",
                    logger: logger
                )
            }
        }
    }

    public func events(sessionID: String) async throws -> [AuditEvent] {
        try await read { connection in
            try await Self.events(
                connection,
                logger: logger,
                "SELECT \(unescaped: Self.eventColumns) FROM audit_events WHERE session_id = \(sessionID) ORDER BY seq"
            ).0
        }
    }

    public func auditEvents(since: Date?, until: Date?, limit: Int) async throws -> [AuditEvent] {
        try await read { connection in
            try await Self.events(
                connection,
                logger: logger,
                """
                SELECT \(unescaped: Self.eventColumns) FROM audit_events
                WHERE (\(since?.epochMilliseconds)::bigint IS NULL OR at_ms >= \(since?.epochMilliseconds))
                  AND (\(until?.epochMilliseconds)::bigint IS NULL OR at_ms < \(until?.epochMilliseconds))
                ORDER BY seq LIMIT \(limit)
                """
            ).0
        }
    }

    public func auditEvents(afterSeq seq: Int64, limit: Int) async throws -> [AuditEvent] {
        try await read { connection in
            try await Self.events(
                connection,
                logger: logger,
                "SELECT \(unescaped: Self.eventColumns) FROM audit_events WHERE seq > \(seq) ORDER BY seq LIMIT \(limit)"
            ).0
        }
    }

    public func webhookCursor(url: String) async throws -> Int64? {
        try await read { connection in
            for try await seq in try await connection.query("SELECT seq FROM webhook_cursors WHERE url = \(url)", logger: logger).decode(Int64.self) {
                return seq
            }
            return nil
        }
    }

    public func setWebhookCursor(url: String, seq: Int64) async throws {
        try await write(chain: false) { connection in
            try await connection.query(
                """
                INSERT INTO webhook_cursors (url, seq, updated_ms) VALUES (\(url), \(seq), \(Date().epochMilliseconds))
                ON CONFLICT (url) DO UPDATE SET seq = GREATEST(webhook_cursors.seq, EXCLUDED.seq), updated_ms = EXCLUDED.updated_ms
                """,
                logger: logger
            )
        }
    }

    public func auditSnapshot() async throws -> AuditLogSnapshot {
        try await read { connection in
            let (events, unreadable) = try await Self.events(
                connection,
                logger: logger,
                "SELECT \(unescaped: Self.eventColumns) FROM audit_events ORDER BY seq",
                lenient: true
            )
            let checkpoints = try await Self.checkpoints(
                connection,
                logger: logger,
                "SELECT \(unescaped: Self.checkpointColumns) FROM audit_checkpoints ORDER BY id"
            )
            return AuditLogSnapshot(events: events, unreadableSeq: unreadable, checkpoints: checkpoints)
        }
    }

    public func attachTreeHead(_ head: TreeHead, checkpointID: Int64) async throws {
        let json = String(decoding: try TandemJSON.makeEncoder().encode(head), as: UTF8.self)
        try await write { connection in
            try await connection.query(
                "UPDATE audit_checkpoints SET tree_head = \(json) WHERE id = \(checkpointID) AND tree_head IS NULL",
                logger: logger
            )
        }
    }

    public func checkpoints() async throws -> [AuditCheckpoint] {
        try await read { connection in
            try await Self.checkpoints(connection, logger: logger, "SELECT \(unescaped: Self.checkpointColumns) FROM audit_checkpoints ORDER BY id")
        }
    }

    public func writeCheckpoint(
        kind: AuditCheckpoint.Kind,
        actor: String,
        at: Date,
        signer: AuditSigner,
        onlyIfNew: Bool
    ) async throws -> AuditCheckpoint? {
        try await write { connection in
            let head = try await Self.head(connection, logger: logger)
            let last = try await Self.checkpoints(
                connection,
                logger: logger,
                "SELECT \(unescaped: Self.checkpointColumns) FROM audit_checkpoints ORDER BY id DESC LIMIT 1"
            ).first
            if onlyIfNew, let last, last.seq == head.seq { return nil }
            return try await Self.insertCheckpoint(
                connection,
                logger: logger,
                AuditCheckpoint(id: (last?.id ?? 0) + 1, at: at, kind: kind, seq: head.seq, headHash: head.hash, actor: actor),
                signer: signer
            )
        }
    }

    public func prune(before: Date, actor: String, at: Date, signer: AuditSigner) async throws -> PruneResult {
        try await write { connection in
            // Only a prefix can go: up to the event before the first one at or after `before`.
            var firstKept: Int64?
            var oldest: Int64?
            let bounds = try await connection.query(
                "SELECT (SELECT MIN(seq) FROM audit_events WHERE at_ms >= \(before.epochMilliseconds)), (SELECT MIN(seq) FROM audit_events)",
                logger: logger
            )
            for try await (kept, first) in bounds.decode((Int64?, Int64?).self) { (firstKept, oldest) = (kept, first) }
            let head = try await Self.head(connection, logger: logger)
            let through = firstKept.map { $0 - 1 } ?? head.seq
            guard let oldest, through >= oldest else { return PruneResult(removedEvents: 0, prunedThroughSeq: nil, checkpoint: nil) }
            var throughHash: String?
            for try await hash in try await connection.query("SELECT hash FROM audit_events WHERE seq = \(through)", logger: logger).decode(
                String.self
            ) {
                throughHash = hash
            }
            guard let throughHash else { throw StoreError.notFound }
            var lastID: Int64 = 0
            for try await id in try await connection.query("SELECT COALESCE(MAX(id), 0) FROM audit_checkpoints", logger: logger).decode(Int64.self) {
                lastID = id
            }
            let checkpoint = try await Self.insertCheckpoint(
                connection,
                logger: logger,
                AuditCheckpoint(
                    id: lastID + 1,
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
            let removed = Int64(try await Self.count(connection, logger: logger, "DELETE FROM audit_events WHERE seq <= \(through) RETURNING 1"))
            try await Self.appendEvent(
                connection,
                logger: logger,
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
    }

    private static func insertCheckpoint(
        _ connection: PostgresConnection,
        logger: Logger,
        _ unsigned: AuditCheckpoint,
        signer: AuditSigner
    ) async throws -> AuditCheckpoint {
        let signed = try signer.sign(unsigned)
        try await connection.query(
            """
            INSERT INTO audit_checkpoints (id, at_ms, kind, seq, head_hash, actor, pruned_through_seq, pruned_through_hash, public_key, signature)
            VALUES (\(signed.id), \(signed.at.epochMilliseconds), \(signed.kind.rawValue), \(signed.seq), \(signed.headHash), \(signed.actor),
                \(signed.prunedThroughSeq), \(signed.prunedThroughHash), \(signed.publicKey), \(signed.signature))
            """,
            logger: logger
        )
        return signed
    }
}
