import Logging
import PostgresNIO
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Brokers sharing the database (protocol/README.md §14).
extension PostgresStore {
    public func heartbeat(url: String, at: Date) async throws {
        try await write(chain: false) { connection in
            try await connection.query(
                """
                INSERT INTO brokers (id, url, last_seen_ms) VALUES (\(brokerID), \(url), \(at.epochMilliseconds))
                ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, last_seen_ms = EXCLUDED.last_seen_ms
                """,
                logger: logger
            )
        }
    }

    public func deregister() async throws {
        try await write(chain: false) { connection in
            try await connection.query("DELETE FROM join_codes WHERE broker_id = \(brokerID)", logger: logger)
            try await connection.query("DELETE FROM floor_agents WHERE broker_id = \(brokerID)", logger: logger)
            try await connection.query("DELETE FROM queue_entries WHERE broker_id = \(brokerID)", logger: logger)
            try await connection.query("DELETE FROM brokers WHERE id = \(brokerID)", logger: logger)
        }
    }

    public func publishCode(hash: String, sessionID: String, expiresAt: Date) async throws {
        try await write(chain: false) { connection in
            try await connection.query(
                """
                INSERT INTO join_codes (code_hash, session_id, broker_id, expires_ms)
                VALUES (\(hash), \(sessionID), \(brokerID), \(expiresAt.epochMilliseconds))
                ON CONFLICT (code_hash) DO UPDATE SET session_id = EXCLUDED.session_id, broker_id = EXCLUDED.broker_id, expires_ms = EXCLUDED.expires_ms
                """,
                logger: logger
            )
        }
    }

    public func withdrawCode(sessionID: String) async throws {
        try await write(chain: false) { connection in
            try await connection.query("DELETE FROM join_codes WHERE session_id = \(sessionID)", logger: logger)
        }
    }

    public func broker(holdingCodeHash hash: String, aliveSince: Date, now: Date) async throws -> String? {
        try await read { connection in
            let rows = try await connection.query(
                """
                SELECT b.url FROM join_codes c JOIN brokers b ON b.id = c.broker_id
                WHERE c.code_hash = \(hash) AND c.expires_ms > \(now.epochMilliseconds)
                  AND b.id <> \(brokerID) AND b.last_seen_ms >= \(aliveSince.epochMilliseconds)
                """,
                logger: logger
            )
            for try await url in rows.decode(String.self) { return url }
            return nil
        }
    }

    public func broker(holdingSession sessionID: String) async throws -> String? {
        try await read { connection in
            let rows = try await connection.query(
                """
                SELECT b.url FROM sessions s JOIN brokers b ON b.id = s.broker_id
                WHERE s.id = \(sessionID) AND s.ended_ms IS NULL AND b.id <> \(brokerID)
                """,
                logger: logger
            )
            for try await url in rows.decode(String.self) { return url }
            return nil
        }
    }

    public func closeSessionsOfLostBrokers(silentSince: Date, reason: EndReason) async throws -> [String] {
        // Runs at every heartbeat: the audit-chain lock is taken only when a broker was lost.
        try await write(chain: false) { connection in
            var lost: [String] = []
            let brokers = try await connection.query(
                "SELECT id FROM brokers WHERE last_seen_ms < \(silentSince.epochMilliseconds) AND id <> \(brokerID)",
                logger: logger
            )
            for try await id in brokers.decode(String.self) { lost.append(id) }
            guard !lost.isEmpty else { return [] }
            try await Self.lockChain(connection, logger: logger)
            var open: [(String, Int64, String)] = []
            let rows = try await connection.query(
                """
                SELECT id, COALESCE(last_activity_ms, customer_joined_ms, created_ms), broker_id FROM sessions
                WHERE ended_ms IS NULL AND broker_id = ANY(\(lost)) ORDER BY created_ms, id
                """,
                logger: logger
            )
            for try await row in rows.decode((String, Int64, String).self) { open.append(row) }
            let now = Date()
            for (id, last, lostBroker) in open {
                try await connection.query(
                    "UPDATE sessions SET ended_ms = \(last), end_reason = \(reason.rawValue), ended_by = 'broker' WHERE id = \(id)",
                    logger: logger
                )
                try await Self.appendEvent(
                    connection,
                    logger: logger,
                    at: now,
                    sessionID: id,
                    kind: .sessionEnded,
                    actor: "broker",
                    detail: [
                        "reason": reason.rawValue, "lostBroker": lostBroker, "closedBy": brokerID,
                        "lastActivityAt": Date(epochMilliseconds: last).formatted(.iso8601),
                    ]
                )
            }
            // The lost brokers are forgotten, with their codes; a broker that comes back registers again.
            try await connection.query("DELETE FROM join_codes WHERE broker_id = ANY(\(lost))", logger: logger)
            try await connection.query("DELETE FROM floor_agents WHERE broker_id = ANY(\(lost))", logger: logger)
            try await connection.query("DELETE FROM queue_entries WHERE broker_id = ANY(\(lost))", logger: logger)
            try await connection.query("DELETE FROM brokers WHERE id = ANY(\(lost))", logger: logger)
            return open.map(\.0)
        }
    }
}
