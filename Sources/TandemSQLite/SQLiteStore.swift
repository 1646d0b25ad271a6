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

    /// Opens (creating if needed) and migrates the database at `path`.
    public init(path: String, logger: Logger) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        configuration.busyMode = .timeout(5)
        self.pool = try DatabasePool(path: path, configuration: configuration)
        self.logger = logger
        try Self.migrator.migrate(pool)
    }

    public func addUser(_ user: UserRecord) async throws -> UserRecord {
        do {
            return try await pool.write { db in
                try db.execute(
                    sql: "INSERT INTO users (name, role, token_hash, created_at) VALUES (?, ?, ?, ?)",
                    arguments: [user.name, user.role.rawValue, user.tokenHash, user.createdAt]
                )
                var stored = user
                stored.id = db.lastInsertedRowID
                try Self.appendEvent(db, at: user.createdAt, sessionID: nil, kind: "user.added", actor: nil, detail: ["user": user.name, "role": user.role.rawValue])
                return stored
            }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            throw StoreError.duplicateName
        }
    }

    public func user(tokenHash: String) async throws -> UserRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM users WHERE token_hash = ?", arguments: [tokenHash]).map(Self.user(from:))
        }
    }

    public func users() async throws -> [UserRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM users ORDER BY name").map(Self.user(from:))
        }
    }

    public func revokeUser(name: String, at: Date) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "UPDATE users SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", arguments: [at, name])
            guard db.changesCount > 0 else { return false }
            try Self.appendEvent(db, at: at, sessionID: nil, kind: "user.revoked", actor: nil, detail: ["user": name])
            return true
        }
    }

    public func insertSession(_ session: SessionRecord) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO sessions (id, ticket, agent, mode, created_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [session.id, session.ticket, session.agent, session.mode.rawValue, session.createdAt, session.expiresAt]
            )
            try Self.appendEvent(
                db, at: session.createdAt, sessionID: session.id, kind: "session.created", actor: session.agent,
                detail: ["ticket": session.ticket, "mode": session.mode.rawValue, "codeIssued": "true",
                         "expiresAt": session.expiresAt.formatted(.iso8601)]
            )
        }
    }

    public func recordCustomerJoined(sessionID: String, at: Date, client: String?) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE sessions SET customer_joined_at = ?, customer_client = ? WHERE id = ? AND customer_joined_at IS NULL",
                arguments: [at, client, sessionID]
            )
            if db.changesCount == 0 { throw StoreError.notFound }
            try Self.appendEvent(db, at: at, sessionID: sessionID, kind: "customer.joined", actor: "customer", detail: client.map { ["client": $0] } ?? [:])
        }
    }

    public func recordEnding(sessionID: String, ending: SessionEnding) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE sessions SET ended_at = ?, end_reason = ?, outcome = ?, note = ?,
                        frames_to_customer = ?, bytes_to_customer = ?, frames_to_agent = ?, bytes_to_agent = ?,
                        chat_messages = ?, annotations = ?, freezes = ?
                    WHERE id = ? AND ended_at IS NULL
                    """,
                arguments: [
                    ending.endedAt, ending.reason.rawValue, ending.outcome?.rawValue, ending.note,
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
            try Self.appendEvent(db, at: ending.endedAt, sessionID: sessionID, kind: "session.ended", actor: nil, detail: detail)
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

    public func recordLateOutcome(sessionID: String, outcome: SessionOutcome, note: String?) async throws -> Bool {
        try await pool.write { db in
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
            try Self.appendEvent(db, at: Date(), sessionID: sessionID, kind: "outcome.recorded", actor: nil, detail: detail)
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
        try await pool.write { db in
            // The last thing known about a session that was live is its join (or its creation).
            let open = try Row.fetchAll(db, sql: "SELECT id, COALESCE(customer_joined_at, created_at) AS last FROM sessions WHERE ended_at IS NULL")
            for row in open {
                try Self.appendEvent(db, at: row["last"], sessionID: row["id"], kind: "session.ended", actor: "broker", detail: ["reason": reason.rawValue])
            }
            try db.execute(
                sql: """
                    UPDATE sessions SET ended_at = COALESCE(customer_joined_at, created_at), end_reason = ?
                    WHERE ended_at IS NULL
                    """,
                arguments: [reason.rawValue]
            )
            return db.changesCount
        }
    }
}
