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
    static let userColumns = "id, name, role, token_hash, created_ms, revoked_ms"
    static let sessionColumns = """
        id, ticket, agent, mode, created_ms, expires_ms, customer_joined_ms, customer_client, customer_address,
        ended_ms, end_reason, outcome, note, ended_by, last_activity_ms, frames_to_customer, bytes_to_customer,
        frames_to_agent, bytes_to_agent, chat_messages, annotations, freezes
        """

    public func recordEnding(sessionID: String, ending: SessionEnding) async throws {
        try await write { connection in
            let traffic = ending.traffic
            let changed = try await Self.count(
                connection,
                logger: logger,
                """
                UPDATE sessions SET ended_ms = \(ending.endedAt.epochMilliseconds), end_reason = \(ending.reason.rawValue),
                    outcome = \(ending.outcome?.rawValue), note = \(ending.note), ended_by = \(ending.endedBy),
                    frames_to_customer = \(traffic.agentToCustomer.frames), bytes_to_customer = \(traffic.agentToCustomer.bytes),
                    frames_to_agent = \(traffic.customerToAgent.frames), bytes_to_agent = \(traffic.customerToAgent.bytes),
                    chat_messages = \(ending.chatMessages), annotations = \(ending.annotations), freezes = \(ending.freezes)
                WHERE id = \(sessionID) AND ended_ms IS NULL RETURNING 1
                """
            )
            if changed == 0 { throw StoreError.notFound }
            var detail = [
                "reason": ending.reason.rawValue,
                "framesToAgent": String(traffic.customerToAgent.frames), "framesToCustomer": String(traffic.agentToCustomer.frames),
                "chatMessages": String(ending.chatMessages), "annotations": String(ending.annotations), "freezes": String(ending.freezes),
            ]
            if let outcome = ending.outcome { detail["outcome"] = outcome.rawValue }
            if let note = ending.note { detail["note"] = note }
            detail.merge(ending.anchorDetail) { current, _ in current }
            try await Self.appendEvent(
                connection,
                logger: logger,
                at: ending.endedAt,
                sessionID: sessionID,
                kind: .sessionEnded,
                actor: ending.endedBy,
                detail: detail
            )
            for stream in ending.streams {
                try await connection.query(
                    """
                    INSERT INTO session_streams (session_id, owner, stream_id, source, codec, frames_relayed, bytes_relayed, frames_dropped)
                    VALUES (\(sessionID), \(stream.owner.rawValue), \(Int(stream.streamID)), \(stream.source?.rawValue), \(stream.codec?.name),
                        \(stream.framesRelayed), \(stream.bytesRelayed), \(stream.framesDropped))
                    """,
                    logger: logger
                )
            }
        }
    }

    public func session(id: String) async throws -> SessionRecord? {
        try await read { connection in
            try await Self.sessions(connection, logger: logger, "SELECT \(unescaped: Self.sessionColumns) FROM sessions WHERE id = \(id)").first
        }
    }

    public func sessions(matching filter: SessionFilter) async throws -> [SessionRecord] {
        try await read { connection in
            // Absent filters are NULL parameters, so one statement serves every combination.
            try await Self.sessions(
                connection,
                logger: logger,
                """
                SELECT \(unescaped: Self.sessionColumns) FROM sessions
                WHERE (\(filter.ticket)::text IS NULL OR ticket = \(filter.ticket))
                  AND (\(filter.agent)::text IS NULL OR agent = \(filter.agent))
                  AND (\(filter.outcome?.rawValue)::text IS NULL OR outcome = \(filter.outcome?.rawValue))
                  AND (\(filter.since?.epochMilliseconds)::bigint IS NULL OR created_ms >= \(filter.since?.epochMilliseconds))
                  AND (\(filter.until?.epochMilliseconds)::bigint IS NULL OR created_ms < \(filter.until?.epochMilliseconds))
                ORDER BY created_ms DESC, id LIMIT \(filter.limit)
                """
            )
        }
    }

    public func closeOpenSessions(reason: EndReason) async throws -> Int {
        try await write { connection in
            // Only this broker's sessions (others may be live on other brokers); a session
            // that was live ends at the last activity recorded for it.
            var open: [(String, Int64)] = []
            let rows = try await connection.query(
                """
                SELECT id, COALESCE(last_activity_ms, customer_joined_ms, created_ms) FROM sessions
                WHERE ended_ms IS NULL AND (broker_id = \(brokerID) OR broker_id IS NULL) ORDER BY created_ms, id
                """,
                logger: logger
            )
            for try await (id, last) in rows.decode((String, Int64).self) { open.append((id, last)) }
            for (id, last) in open {
                try await connection.query(
                    "UPDATE sessions SET ended_ms = \(last), end_reason = \(reason.rawValue), ended_by = 'broker' WHERE id = \(id)",
                    logger: logger
                )
                try await Self.appendEvent(
                    connection,
                    logger: logger,
                    at: Date(epochMilliseconds: last),
                    sessionID: id,
                    kind: .sessionEnded,
                    actor: "broker",
                    detail: ["reason": reason.rawValue, "closedAt": Date().formatted(.iso8601)]
                )
            }
            // Codes this broker published before it died are dead too.
            try await connection.query("DELETE FROM join_codes WHERE broker_id = \(brokerID)", logger: logger)
            return open.count
        }
    }

    static func users(_ connection: PostgresConnection, logger: Logger, _ query: PostgresQuery) async throws -> [UserRecord] {
        var users: [UserRecord] = []
        for try await row in try await connection.query(query, logger: logger) {
            let cells = row.makeRandomAccess()
            guard let role = UserRole(rawValue: try cells["role"].decode(String.self)) else { throw StoreError.notFound }
            users.append(
                UserRecord(
                    id: try cells["id"].decode(Int64.self),
                    name: try cells["name"].decode(String.self),
                    role: role,
                    tokenHash: try cells["token_hash"].decode(String.self),
                    createdAt: Date(epochMilliseconds: try cells["created_ms"].decode(Int64.self)),
                    revokedAt: try cells["revoked_ms"].decode(Int64?.self).map(Date.init(epochMilliseconds:))
                )
            )
        }
        return users
    }

    static func sessions(_ connection: PostgresConnection, logger: Logger, _ query: PostgresQuery) async throws -> [SessionRecord] {
        var sessions: [SessionRecord] = []
        for try await row in try await connection.query(query, logger: logger) {
            let cells = row.makeRandomAccess()
            func date(_ name: String) throws -> Date? { try cells[name].decode(Int64?.self).map(Date.init(epochMilliseconds:)) }
            func count(_ name: String) throws -> Int64 { try cells[name].decode(Int64.self) }
            guard let mode = SessionMode(rawValue: try cells["mode"].decode(String.self)) else { throw StoreError.notFound }
            sessions.append(
                SessionRecord(
                    id: try cells["id"].decode(String.self),
                    ticket: try cells["ticket"].decode(String.self),
                    agent: try cells["agent"].decode(String.self),
                    mode: mode,
                    createdAt: try date("created_ms") ?? Date(),
                    expiresAt: try date("expires_ms") ?? Date(),
                    customerJoinedAt: try date("customer_joined_ms"),
                    customerClient: try cells["customer_client"].decode(String?.self),
                    customerAddress: try cells["customer_address"].decode(String?.self),
                    endedAt: try date("ended_ms"),
                    endReason: try cells["end_reason"].decode(String?.self).flatMap(EndReason.init(rawValue:)),
                    outcome: try cells["outcome"].decode(String?.self).flatMap(SessionOutcome.init(rawValue:)),
                    note: try cells["note"].decode(String?.self),
                    endedBy: try cells["ended_by"].decode(String?.self),
                    lastActivityAt: try date("last_activity_ms"),
                    traffic: SessionTraffic(
                        agentToCustomer: TrafficCounters(frames: try count("frames_to_customer"), bytes: try count("bytes_to_customer")),
                        customerToAgent: TrafficCounters(frames: try count("frames_to_agent"), bytes: try count("bytes_to_agent"))
                    ),
                    chatMessages: Int(try count("chat_messages")),
                    annotations: Int(try count("annotations")),
                    freezes: Int(try count("freezes"))
                )
            )
        }
        for index in sessions.indices {
            let rows = try await connection.query(
                """
                SELECT owner, stream_id, source, codec, frames_relayed, bytes_relayed, frames_dropped
                FROM session_streams WHERE session_id = \(sessions[index].id) ORDER BY owner, stream_id
                """,
                logger: logger
            )
            for try await (owner, streamID, source, codec, relayed, bytes, dropped) in rows.decode(
                (String, Int64, String?, String?, Int64, Int64, Int64).self
            ) {
                guard let owner = ParticipantRole(rawValue: owner) else { throw StoreError.notFound }
                sessions[index].streams.append(
                    StreamStats(
                        owner: owner,
                        streamID: UInt16(clamping: streamID),
                        source: source.flatMap(StreamSource.init(rawValue:)),
                        codec: codec.flatMap { try? MediaCodec(name: $0) },
                        framesRelayed: relayed,
                        bytesRelayed: bytes,
                        framesDropped: dropped
                    )
                )
            }
        }
        return sessions
    }
}
