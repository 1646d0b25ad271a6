import GRDB
import Logging
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The embedded default store: one SQLite file in WAL mode with `synchronous=FULL`,
/// so every write that returns is on disk.
public final class SQLiteStore: TandemStore {
    let pool: DatabasePool
    let logger: Logger
    let onWrite: (@Sendable (Duration, StoreWriteResult) -> Void)?
    /// Every write transaction goes through it: concurrent writes share one commit.
    let writer: GroupCommitWriter

    /// Opens (creating if needed) and migrates the database at `path`. `onWrite` hears how
    /// long each committed write transaction took, and each write that failed (for metrics).
    public init(path: String, logger: Logger, onWrite: (@Sendable (Duration, StoreWriteResult) -> Void)? = nil) throws {
        self.onWrite = onWrite
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        configuration.busyMode = .timeout(5)
        Self.restrictFileModes(path)
        let pool = try DatabasePool(path: path, configuration: configuration)
        self.pool = pool
        self.writer = GroupCommitWriter(pool: pool) { duration, _ in onWrite?(duration, .committed) }
        self.logger = logger
        try Self.migrator.migrate(pool)
    }

    /// A write, committed with the writes that arrive while the previous batch commits
    /// (``GroupCommitWriter``); returns once it is on disk. Timed per batch; a write that
    /// fails other than with a ``StoreError`` refusal is reported to `onWrite` as failed.
    func write<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let start = ContinuousClock.now
        do {
            return try await writer.write(updates)
        } catch let refusal as StoreError {
            throw refusal
        } catch {
            onWrite?(ContinuousClock.now - start, .failed)
            throw error
        }
    }

    public func addUser(_ user: UserRecord) async throws -> UserRecord {
        try await write { db in
            do {
                try db.execute(
                    sql: "INSERT INTO users (name, role, token_hash, created_at) VALUES (?, ?, ?, ?)",
                    arguments: [user.name, user.role.rawValue, user.tokenHash, user.createdAt]
                )
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
                // A refusal, not a failed write: the savepoint is rolled back all the same.
                throw StoreError.duplicateName
            }
            var stored = user
            stored.id = db.lastInsertedRowID
            try Self.appendEvent(
                db,
                at: user.createdAt,
                sessionID: nil,
                kind: .userAdded,
                actor: nil,
                detail: ["user": user.name, "role": user.role.rawValue]
            )
            return stored
        }
    }

    public func user(tokenHash: String) async throws -> UserRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM users WHERE token_hash = ?", arguments: [tokenHash]).map(Self.user(from:))
        }
    }

    public func user(name: String) async throws -> UserRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM users WHERE name = ?", arguments: [name]).map(Self.user(from:))
        }
    }

    public func users() async throws -> [UserRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM users ORDER BY name").map(Self.user(from:))
        }
    }

    public func revokeUser(name: String, at: Date) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "UPDATE users SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", arguments: [at, name])
            guard db.changesCount > 0 else { return false }
            try Self.appendEvent(db, at: at, sessionID: nil, kind: .userRevoked, actor: nil, detail: ["user": name])
            return true
        }
    }

    public func insertSession(_ session: SessionRecord) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO sessions (id, ticket, agent, mode, created_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [session.id, session.ticket, session.agent, session.mode.rawValue, session.createdAt, session.expiresAt]
            )
            try Self.appendEvent(
                db,
                at: session.createdAt,
                sessionID: session.id,
                kind: .sessionCreated,
                actor: session.agent,
                detail: session.creationDetail
            )
        }
    }

    public func recordCustomerJoined(sessionID: String, at: Date, client: String?, address: String?) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE sessions SET customer_joined_at = ?, customer_client = ?, customer_address = ?, last_activity_at = ?
                    WHERE id = ? AND customer_joined_at IS NULL
                    """,
                arguments: [at, client, address, at, sessionID]
            )
            if db.changesCount == 0 { throw StoreError.notFound }
            var detail: [String: String] = [:]
            if let client { detail["client"] = client }
            if let address { detail["address"] = address }
            try Self.appendEvent(db, at: at, sessionID: sessionID, kind: .customerJoined, actor: "customer", detail: detail)
        }
    }

    public func recordEnding(sessionID: String, ending: SessionEnding) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE sessions SET ended_at = ?, end_reason = ?, outcome = ?, note = ?, ended_by = ?,
                        frames_to_customer = ?, bytes_to_customer = ?, frames_to_agent = ?, bytes_to_agent = ?,
                        chat_messages = ?, annotations = ?, freezes = ?
                    WHERE id = ? AND ended_at IS NULL
                    """,
                arguments: [
                    ending.endedAt, ending.reason.rawValue, ending.outcome?.rawValue, ending.note, ending.endedBy,
                    ending.traffic.agentToCustomer.frames, ending.traffic.agentToCustomer.bytes,
                    ending.traffic.customerToAgent.frames, ending.traffic.customerToAgent.bytes,
                    ending.chatMessages, ending.annotations, ending.freezes,
                    sessionID,
                ]
            )
            if db.changesCount == 0 { throw StoreError.notFound }
            var detail = [
                "reason": ending.reason.rawValue,
                "framesToAgent": String(ending.traffic.customerToAgent.frames), "framesToCustomer": String(ending.traffic.agentToCustomer.frames),
                "chatMessages": String(ending.chatMessages), "annotations": String(ending.annotations), "freezes": String(ending.freezes),
            ]
            if let outcome = ending.outcome { detail["outcome"] = outcome.rawValue }
            if let note = ending.note { detail["note"] = note }
            detail.merge(ending.anchorDetail) { current, _ in current }
            try Self.appendEvent(db, at: ending.endedAt, sessionID: sessionID, kind: .sessionEnded, actor: ending.endedBy, detail: detail)
            for stream in ending.streams {
                try db.execute(
                    sql: """
                        INSERT INTO session_streams
                            (session_id, owner, stream_id, source, codec, frames_relayed, bytes_relayed, frames_dropped)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        sessionID, stream.owner.rawValue, Int(stream.streamID), stream.source?.rawValue, stream.codec?.name,
                        stream.framesRelayed, stream.bytesRelayed, stream.framesDropped,
                    ]
                )
            }
        }
    }

    public func recordTakeover(sessionID: String, agent: String, detail: [String: String], at: Date) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE sessions SET agent = ? WHERE id = ? AND ended_at IS NULL", arguments: [agent, sessionID])
            if db.changesCount == 0 { throw StoreError.notFound }
            try Self.appendEvent(db, at: at, sessionID: sessionID, kind: .transferAnswered, actor: agent, detail: detail)
        }
    }

    public func recordLateOutcome(sessionID: String, outcome: SessionOutcome, note: String?) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE sessions SET outcome = ?, note = COALESCE(?, note)
                    WHERE id = ? AND ended_at IS NOT NULL AND outcome IS NULL
                    """,
                arguments: [outcome.rawValue, note, sessionID]
            )
            guard db.changesCount > 0 else { return false }
            var detail = ["outcome": outcome.rawValue]
            if let note { detail["note"] = note }
            try Self.appendEvent(db, at: Date(), sessionID: sessionID, kind: .outcomeRecorded, actor: nil, detail: detail)
            return true
        }
    }

    public func session(id: String) async throws -> SessionRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM sessions WHERE id = ?", arguments: [id]).map { try Self.session(from: $0, in: db) }
        }
    }

    public func sessions(matching filter: SessionFilter) async throws -> [SessionRecord] {
        try await pool.read { db in
            var clauses: [String] = []
            var arguments = StatementArguments()
            if let ticket = filter.ticket {
                clauses.append("ticket = ?")
                arguments += [ticket]
            }
            if let agent = filter.agent {
                clauses.append("agent = ?")
                arguments += [agent]
            }
            if let outcome = filter.outcome {
                clauses.append("outcome = ?")
                arguments += [outcome.rawValue]
            }
            if let since = filter.since {
                clauses.append("created_at >= ?")
                arguments += [since]
            }
            if let until = filter.until {
                clauses.append("created_at < ?")
                arguments += [until]
            }
            let whereClause = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
            arguments += [filter.limit]
            return try Row.fetchAll(
                db,
                sql: "SELECT * FROM sessions \(whereClause) ORDER BY created_at DESC, id LIMIT ?",
                arguments: arguments
            ).map { try Self.session(from: $0, in: db) }
        }
    }

    static func session(from row: Row, in db: Database) throws -> SessionRecord {
        let streams = try Row.fetchAll(
            db,
            sql: "SELECT * FROM session_streams WHERE session_id = ? ORDER BY owner, stream_id",
            arguments: [row["id"] as String]
        ).map(Self.stream(from:))
        return try Self.session(from: row, streams: streams)
    }

    public func closeOpenSessions(reason: EndReason) async throws -> Int {
        try await write { db in
            // A session that was live ends at the last activity the broker recorded for it.
            let open = try Row.fetchAll(
                db,
                sql: """
                    SELECT id, COALESCE(last_activity_at, customer_joined_at, created_at) AS last
                    FROM sessions WHERE ended_at IS NULL ORDER BY created_at, id
                    """
            )
            for row in open {
                let last: Date = row["last"]
                try db.execute(
                    sql: "UPDATE sessions SET ended_at = ?, end_reason = ?, ended_by = 'broker' WHERE id = ?",
                    arguments: [last, reason.rawValue, row["id"] as String]
                )
                try Self.appendEvent(
                    db,
                    at: last,
                    sessionID: row["id"],
                    kind: .sessionEnded,
                    actor: "broker",
                    detail: ["reason": reason.rawValue, "closedAt": Date().formatted(.iso8601)]
                )
            }
            return open.count
        }
    }

    public func recordActivity(sessionIDs: [String], at: Date) async throws {
        guard !sessionIDs.isEmpty else { return }
        try await write { db in
            for id in sessionIDs {
                try db.execute(sql: "UPDATE sessions SET last_activity_at = ? WHERE id = ? AND ended_at IS NULL", arguments: [at, id])
            }
        }
    }
}
