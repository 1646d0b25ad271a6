import GRDB
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension SQLiteStore {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-users-sessions") { db in
            try db.execute(
                sql: """
                    CREATE TABLE users (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        name TEXT NOT NULL UNIQUE,
                        role TEXT NOT NULL CHECK (role IN ('agent', 'auditor', 'admin')),
                        token_hash TEXT NOT NULL UNIQUE,
                        created_at DATETIME NOT NULL,
                        revoked_at DATETIME
                    );
                    CREATE TABLE sessions (
                        id TEXT PRIMARY KEY,
                        ticket TEXT NOT NULL,
                        agent TEXT NOT NULL,
                        mode TEXT NOT NULL,
                        created_at DATETIME NOT NULL,
                        expires_at DATETIME NOT NULL,
                        customer_joined_at DATETIME,
                        customer_client TEXT,
                        ended_at DATETIME,
                        end_reason TEXT,
                        outcome TEXT,
                        note TEXT,
                        frames_to_customer INTEGER NOT NULL DEFAULT 0,
                        bytes_to_customer INTEGER NOT NULL DEFAULT 0,
                        frames_to_agent INTEGER NOT NULL DEFAULT 0,
                        bytes_to_agent INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE INDEX sessions_ticket ON sessions (ticket, created_at);
                    CREATE INDEX sessions_agent ON sessions (agent, created_at);
                    """
            )
        }
        migrator.registerMigration("v2-activity-streams") { db in
            try db.execute(
                sql: """
                    ALTER TABLE sessions ADD COLUMN chat_messages INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE sessions ADD COLUMN annotations INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE sessions ADD COLUMN freezes INTEGER NOT NULL DEFAULT 0;
                    CREATE TABLE session_streams (
                        session_id TEXT NOT NULL REFERENCES sessions(id),
                        owner TEXT NOT NULL,
                        stream_id INTEGER NOT NULL,
                        source TEXT,
                        codec TEXT,
                        frames_relayed INTEGER NOT NULL,
                        bytes_relayed INTEGER NOT NULL,
                        frames_dropped INTEGER NOT NULL,
                        PRIMARY KEY (session_id, owner, stream_id)
                    );
                    """
            )
        }
        migrator.registerMigration("v3-audit-events") { db in
            try db.execute(
                sql: """
                    CREATE TABLE audit_events (
                        seq INTEGER PRIMARY KEY,
                        at_ms INTEGER NOT NULL,
                        session_id TEXT,
                        kind TEXT NOT NULL,
                        actor TEXT,
                        detail TEXT NOT NULL,
                        previous_hash TEXT NOT NULL,
                        hash TEXT NOT NULL
                    );
                    CREATE INDEX audit_events_session ON audit_events (session_id, seq);
                    """
            )
        }
        migrator.registerMigration("v4-checkpoints-activity") { db in
            try db.execute(
                sql: """
                    CREATE TABLE audit_checkpoints (
                        id INTEGER PRIMARY KEY,
                        at_ms INTEGER NOT NULL,
                        kind TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        head_hash TEXT NOT NULL,
                        actor TEXT NOT NULL,
                        pruned_through_seq INTEGER,
                        pruned_through_hash TEXT,
                        public_key TEXT NOT NULL,
                        signature TEXT NOT NULL
                    );
                    ALTER TABLE sessions ADD COLUMN last_activity_at DATETIME;
                    ALTER TABLE sessions ADD COLUMN ended_by TEXT;
                    ALTER TABLE sessions ADD COLUMN customer_address TEXT;
                    """
            )
        }
        migrator.registerMigration("v5-webhook-cursors") { db in
            try db.execute(
                sql: """
                    CREATE TABLE webhook_cursors (
                        url TEXT PRIMARY KEY,
                        seq INTEGER NOT NULL,
                        updated_at DATETIME NOT NULL
                    );
                    """
            )
        }
        // §11.10: the signed tree head each checkpoint commits to (JSON), set once after it.
        migrator.registerMigration("v6-checkpoint-tree-heads") { db in
            try db.execute(sql: "ALTER TABLE audit_checkpoints ADD COLUMN tree_head TEXT")
        }
        return migrator
    }

    static func user(from row: Row) throws -> UserRecord {
        guard let role = UserRole(rawValue: row["role"]) else { throw StoreError.notFound }
        return UserRecord(
            id: row["id"],
            name: row["name"],
            role: role,
            tokenHash: row["token_hash"],
            createdAt: row["created_at"],
            revokedAt: row["revoked_at"]
        )
    }

    static func stream(from row: Row) throws -> StreamStats {
        guard let owner = ParticipantRole(rawValue: row["owner"]) else { throw StoreError.notFound }
        let source: String? = row["source"]
        let codec: String? = row["codec"]
        return StreamStats(
            owner: owner,
            streamID: row["stream_id"],
            source: source.flatMap(StreamSource.init(rawValue:)),
            codec: codec.flatMap { try? MediaCodec(name: $0) },
            framesRelayed: row["frames_relayed"],
            bytesRelayed: row["bytes_relayed"],
            framesDropped: row["frames_dropped"]
        )
    }

    static func session(from row: Row, streams: [StreamStats]) throws -> SessionRecord {
        guard let mode = SessionMode(rawValue: row["mode"]) else { throw StoreError.notFound }
        let endReason: String? = row["end_reason"]
        let outcome: String? = row["outcome"]
        return SessionRecord(
            id: row["id"],
            ticket: row["ticket"],
            agent: row["agent"],
            mode: mode,
            createdAt: row["created_at"],
            expiresAt: row["expires_at"],
            customerJoinedAt: row["customer_joined_at"],
            customerClient: row["customer_client"],
            customerAddress: row["customer_address"],
            endedAt: row["ended_at"],
            endReason: endReason.flatMap(EndReason.init(rawValue:)),
            outcome: outcome.flatMap(SessionOutcome.init(rawValue:)),
            note: row["note"],
            endedBy: row["ended_by"],
            lastActivityAt: row["last_activity_at"],
            traffic: SessionTraffic(
                agentToCustomer: TrafficCounters(frames: row["frames_to_customer"], bytes: row["bytes_to_customer"]),
                customerToAgent: TrafficCounters(frames: row["frames_to_agent"], bytes: row["bytes_to_agent"])
            ),
            chatMessages: row["chat_messages"],
            annotations: row["annotations"],
            freezes: row["freezes"],
            streams: streams
        )
    }
}
