import GRDB
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension SQLiteStore {
    /// Appends an event to the hash chain inside the caller's write transaction, so the
    /// event and the change it records commit together.
    @discardableResult
    static func appendEvent(
        _ db: Database,
        at: Date,
        sessionID: String?,
        kind: AuditEventKind,
        actor: String?,
        detail: [String: String]
    ) throws -> AuditEvent {
        let millis = Int64((at.timeIntervalSince1970 * 1000).rounded(.down))
        let at = Date(epochMilliseconds: millis)
        var detail = detail
        if let sessionID {
            detail[AuditEvent.sessionSeqKey] = String(try Self.nextSessionSeq(db, sessionID: sessionID))
        }
        let head = try Self.head(db)
        let seq = head.seq + 1
        let previousHash = head.hash
        let hash = AuditChain.hash(seq: seq, at: at, sessionID: sessionID, kind: kind, actor: actor, detail: detail, previousHash: previousHash)
        let detailJSON = String(decoding: try TandemJSON.makeEncoder().encode(detail), as: UTF8.self)
        try db.execute(
            sql: """
                INSERT INTO audit_events (seq, at_ms, session_id, kind, actor, detail, previous_hash, hash)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [seq, millis, sessionID, kind.rawValue, actor, detailJSON, previousHash, hash]
        )
        return AuditEvent(seq: seq, at: at, sessionID: sessionID, kind: kind, actor: actor, detail: detail, previousHash: previousHash, hash: hash)
    }

    /// The next `sessionSeq` of the session (§11.9): one more than its newest event's; for a
    /// session whose events predate the numbering, one more than how many it has.
    static func nextSessionSeq(_ db: Database, sessionID: String) throws -> Int64 {
        let newest = try String.fetchOne(
            db,
            sql: "SELECT detail FROM audit_events WHERE session_id = ? ORDER BY seq DESC LIMIT 1",
            arguments: [sessionID]
        )
        guard let newest else { return 1 }
        if let number = AuditEvent.sessionSeq(inDetailJSON: newest) { return number + 1 }
        return (try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_events WHERE session_id = ?", arguments: [sessionID]) ?? 0) + 1
    }

    static func event(from row: Row) throws -> AuditEvent {
        let detailJSON: String = row["detail"]
        let detail = try TandemJSON.makeDecoder().decode([String: String].self, from: Data(detailJSON.utf8))
        let millis: Int64 = row["at_ms"]
        return AuditEvent(
            seq: row["seq"],
            at: Date(epochMilliseconds: millis),
            sessionID: row["session_id"],
            kind: AuditEventKind(rawValue: row["kind"]),
            actor: row["actor"],
            detail: detail,
            previousHash: row["previous_hash"],
            hash: row["hash"]
        )
    }

    public func recordEvent(sessionID: String?, kind: AuditEventKind, actor: String?, detail: [String: String], at: Date) async throws {
        try await write { db in
            try Self.appendEvent(db, at: at, sessionID: sessionID, kind: kind, actor: actor, detail: detail)
            if let sessionID {
                try db.execute(sql: "UPDATE sessions SET last_activity_at = ? WHERE id = ? AND ended_at IS NULL", arguments: [at, sessionID])
            }
        }
    }

    public func events(sessionID: String) async throws -> [AuditEvent] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit_events WHERE session_id = ? ORDER BY seq", arguments: [sessionID]).map(Self.event(from:))
        }
    }

    public func auditEvents(afterSeq seq: Int64, limit: Int) async throws -> [AuditEvent] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?", arguments: [seq, limit]).map(Self.event(from:))
        }
    }

    public func webhookCursor(url: String) async throws -> Int64? {
        try await pool.read { db in try Int64.fetchOne(db, sql: "SELECT seq FROM webhook_cursors WHERE url = ?", arguments: [url]) }
    }

    public func setWebhookCursor(url: String, seq: Int64) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO webhook_cursors (url, seq, updated_at) VALUES (?, ?, ?)
                    ON CONFLICT (url) DO UPDATE SET seq = MAX(seq, excluded.seq), updated_at = excluded.updated_at
                    """,
                arguments: [url, seq, Date()]
            )
        }
    }

    public func auditSnapshot() async throws -> AuditLogSnapshot {
        try await pool.read { db in
            var events: [AuditEvent] = []
            var unreadable: Int64?
            for row in try Row.fetchAll(db, sql: "SELECT * FROM audit_events ORDER BY seq") {
                // Rows that do not even parse count as altered at their seq.
                guard let event = try? Self.event(from: row) else {
                    unreadable = unreadable ?? row["seq"]
                    continue
                }
                events.append(event)
            }
            let checkpoints = try Row.fetchAll(db, sql: "SELECT * FROM audit_checkpoints ORDER BY id").map(Self.checkpoint(from:))
            return AuditLogSnapshot(events: events, unreadableSeq: unreadable, checkpoints: checkpoints)
        }
    }

    public func auditEvents(since: Date?, until: Date?, limit: Int) async throws -> [AuditEvent] {
        try await pool.read { db in
            var clauses: [String] = []
            var arguments = StatementArguments()
            if let since {
                clauses.append("at_ms >= ?")
                arguments += [Int64((since.timeIntervalSince1970 * 1000).rounded(.down))]
            }
            if let until {
                clauses.append("at_ms < ?")
                arguments += [Int64((until.timeIntervalSince1970 * 1000).rounded(.down))]
            }
            arguments += [limit]
            let whereClause = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
            return try Row.fetchAll(db, sql: "SELECT * FROM audit_events \(whereClause) ORDER BY seq LIMIT ?", arguments: arguments)
                .map(Self.event(from:))
        }
    }
}
