import Logging
import PostgresNIO
import TandemCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension PostgresStore {
    /// Schema versions, applied in order inside one transaction each; `tandem_schema`
    /// records the version reached. The layout mirrors the SQLite store's (times in epoch ms).
    static let migrations: [String] = [
        """
        CREATE TABLE users (
            id BIGSERIAL PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL CHECK (role IN ('agent', 'auditor', 'admin')),
            token_hash TEXT NOT NULL UNIQUE,
            created_ms BIGINT NOT NULL,
            revoked_ms BIGINT
        );
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            ticket TEXT NOT NULL,
            agent TEXT NOT NULL,
            mode TEXT NOT NULL,
            created_ms BIGINT NOT NULL,
            expires_ms BIGINT NOT NULL,
            customer_joined_ms BIGINT,
            customer_client TEXT,
            customer_address TEXT,
            ended_ms BIGINT,
            end_reason TEXT,
            outcome TEXT,
            note TEXT,
            ended_by TEXT,
            last_activity_ms BIGINT,
            frames_to_customer BIGINT NOT NULL DEFAULT 0,
            bytes_to_customer BIGINT NOT NULL DEFAULT 0,
            frames_to_agent BIGINT NOT NULL DEFAULT 0,
            bytes_to_agent BIGINT NOT NULL DEFAULT 0,
            chat_messages BIGINT NOT NULL DEFAULT 0,
            annotations BIGINT NOT NULL DEFAULT 0,
            freezes BIGINT NOT NULL DEFAULT 0
        );
        CREATE INDEX sessions_ticket ON sessions (ticket, created_ms);
        CREATE INDEX sessions_agent ON sessions (agent, created_ms);
        CREATE INDEX sessions_open ON sessions (created_ms) WHERE ended_ms IS NULL;
        CREATE TABLE session_streams (
            session_id TEXT NOT NULL REFERENCES sessions(id),
            owner TEXT NOT NULL,
            stream_id BIGINT NOT NULL,
            source TEXT,
            codec TEXT,
            frames_relayed BIGINT NOT NULL,
            bytes_relayed BIGINT NOT NULL,
            frames_dropped BIGINT NOT NULL,
            PRIMARY KEY (session_id, owner, stream_id)
        );
        CREATE TABLE audit_events (
            seq BIGINT PRIMARY KEY,
            at_ms BIGINT NOT NULL,
            session_id TEXT,
            kind TEXT NOT NULL,
            actor TEXT,
            detail TEXT NOT NULL,
            previous_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        CREATE INDEX audit_events_session ON audit_events (session_id, seq);
        CREATE INDEX audit_events_time ON audit_events (at_ms);
        CREATE TABLE audit_checkpoints (
            id BIGINT PRIMARY KEY,
            at_ms BIGINT NOT NULL,
            kind TEXT NOT NULL,
            seq BIGINT NOT NULL,
            head_hash TEXT NOT NULL,
            actor TEXT NOT NULL,
            pruned_through_seq BIGINT,
            pruned_through_hash TEXT,
            public_key TEXT NOT NULL,
            signature TEXT NOT NULL
        );
        """,
        """
        ALTER TABLE sessions ADD COLUMN broker_id TEXT;
        CREATE INDEX sessions_broker_open ON sessions (broker_id) WHERE ended_ms IS NULL;
        CREATE TABLE brokers (
            id TEXT PRIMARY KEY,
            url TEXT NOT NULL,
            last_seen_ms BIGINT NOT NULL
        );
        CREATE TABLE join_codes (
            code_hash TEXT PRIMARY KEY,
            session_id TEXT NOT NULL,
            broker_id TEXT NOT NULL,
            expires_ms BIGINT NOT NULL
        );
        CREATE INDEX join_codes_session ON join_codes (session_id);
        """,
        """
        CREATE TABLE webhook_cursors (
            url TEXT PRIMARY KEY,
            seq BIGINT NOT NULL,
            updated_ms BIGINT NOT NULL
        );
        """,
        """
        CREATE TABLE floor_agents (
            broker_id TEXT NOT NULL,
            name TEXT NOT NULL,
            state TEXT NOT NULL,
            sessions INT NOT NULL,
            max_sessions INT NOT NULL,
            lines TEXT NOT NULL,
            skills TEXT NOT NULL,
            since_ms BIGINT NOT NULL,
            PRIMARY KEY (broker_id, name)
        );
        CREATE TABLE queue_entries (
            id TEXT PRIMARY KEY,
            broker_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            from_agent TEXT,
            ticket TEXT NOT NULL,
            tier TEXT NOT NULL,
            mode TEXT NOT NULL,
            line TEXT NOT NULL,
            for_agent TEXT,
            tier_rank INT NOT NULL,
            skills TEXT NOT NULL,
            note TEXT,
            entered_ms BIGINT NOT NULL,
            offered_until_ms BIGINT,
            claimed_by TEXT,
            claimed_until_ms BIGINT
        );
        CREATE INDEX queue_entries_order ON queue_entries (line, tier_rank DESC, entered_ms);
        """,
        // §11.10: the signed tree head each checkpoint commits to (JSON), set once after it.
        "ALTER TABLE audit_checkpoints ADD COLUMN tree_head TEXT;",
    ]

    /// Brings the schema to the newest version. Several brokers starting at once take turns
    /// (an advisory lock), so each migration runs exactly once.
    func migrate() async throws {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.chainLock + 1))", logger: logger)
            if let schema {
                // The name was checked to be letters, digits and _.
                try await connection.query("CREATE SCHEMA IF NOT EXISTS \(unescaped: schema)", logger: logger)
            }
            try await connection.query("CREATE TABLE IF NOT EXISTS tandem_schema (version INT NOT NULL)", logger: logger)
            var version = 0
            for try await found in try await connection.query("SELECT MAX(version) FROM tandem_schema", logger: logger).decode(Int?.self) {
                version = found ?? 0
            }
            for (index, statements) in Self.migrations.enumerated() where index + 1 > version {
                for statement in statements.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }) where !statement.isEmpty
                {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO tandem_schema (version) VALUES (\(index + 1))", logger: logger)
                logger.info("Migrated the PostgreSQL schema", metadata: ["tandem.schema.version": "\(index + 1)"])
            }
        }
    }
}
