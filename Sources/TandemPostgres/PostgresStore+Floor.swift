import Logging
import PostgresNIO
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One floor across brokers sharing the database (protocol/README.md §20.7): each broker
/// publishes its agents and its queue; an agent on one broker claims an entry waiting on
/// another (`FOR UPDATE SKIP LOCKED`) and is sent there.
extension PostgresStore {
    public func publishAgents(_ agents: [FloorState.Agent]) async throws {
        try await write(chain: false) { connection in
            try await connection.query("DELETE FROM floor_agents WHERE broker_id = \(brokerID)", logger: logger)
            for agent in agents {
                try await connection.query(
                    """
                    INSERT INTO floor_agents (broker_id, name, state, sessions, max_sessions, lines, skills, since_ms)
                    VALUES (\(brokerID), \(agent.name), \(agent.state.rawValue), \(agent.sessions), \(agent.maxSessions),
                            \(agent.lines.joined(separator: ",")), \(agent.skills.joined(separator: ",")), \(agent.since.epochMilliseconds))
                    """,
                    logger: logger
                )
            }
        }
    }

    public func remoteAgents(aliveSince: Date) async throws -> [FloorState.Agent] {
        try await read { connection in
            let rows = try await connection.query(
                """
                SELECT a.name, a.state, a.sessions, a.max_sessions, a.lines, a.skills, a.since_ms
                FROM floor_agents a JOIN brokers b ON b.id = a.broker_id
                WHERE a.broker_id <> \(brokerID) AND b.last_seen_ms >= \(aliveSince.epochMilliseconds)
                ORDER BY a.name
                """,
                logger: logger
            )
            var agents: [FloorState.Agent] = []
            for try await (name, state, sessions, most, lines, skills, since) in rows.decode((String, String, Int, Int, String, String, Int64).self) {
                agents.append(
                    FloorState.Agent(
                        name: name,
                        state: AgentState(rawValue: state) ?? .offline,
                        sessions: sessions,
                        maxSessions: most,
                        lines: lines.split(separator: ",").map(String.init),
                        skills: skills.split(separator: ",").map(String.init),
                        since: Date(epochMilliseconds: since)
                    )
                )
            }
            return agents
        }
    }

    public func publishQueue(upsert: [SharedQueueEntry], remove: [String], keepOnly: [String]?) async throws {
        guard !upsert.isEmpty || !remove.isEmpty || keepOnly != nil else { return }
        try await write(chain: false) { connection in
            if !remove.isEmpty {
                try await connection.query("DELETE FROM queue_entries WHERE broker_id = \(brokerID) AND id = ANY(\(remove))", logger: logger)
            }
            if let keepOnly {
                // An empty array keeps nothing: `id = ANY('{}')` is false for every row.
                try await connection.query(
                    "DELETE FROM queue_entries WHERE broker_id = \(brokerID) AND NOT (id = ANY(\(keepOnly)))",
                    logger: logger
                )
            }
            for shared in upsert {
                let entry = shared.entry
                let from: String? = if case .transfer(let from) = entry.kind { from } else { nil }
                let kind = from == nil ? "customer" : "transfer"
                try await connection.query(
                    """
                    INSERT INTO queue_entries (id, broker_id, kind, from_agent, ticket, tier, mode, line, for_agent, tier_rank, skills, note,
                                               entered_ms, offered_until_ms)
                    VALUES (\(entry.id), \(brokerID), \(kind), \(from), \(entry.ticket), \(entry.tier.rawValue), \(entry.mode.rawValue),
                            \(entry.line), \(entry.forAgent), \(entry.tier.priority), \(entry.skills.joined(separator: ",")), \(entry.note),
                            \(entry.enteredAt.epochMilliseconds), \(shared.offeredUntil?.epochMilliseconds))
                    ON CONFLICT (id) DO UPDATE SET line = EXCLUDED.line, for_agent = EXCLUDED.for_agent,
                                                   offered_until_ms = EXCLUDED.offered_until_ms
                    """,
                    logger: logger
                )
            }
        }
    }

    public func remoteQueue(aliveSince: Date) async throws -> [SharedQueueEntry] {
        try await read { connection in
            let rows = try await connection.query(
                """
                SELECT q.id, q.kind, q.from_agent, q.ticket, q.tier, q.mode, q.line, q.for_agent, q.skills, q.note, q.entered_ms,
                       q.offered_until_ms, q.claimed_by, q.claimed_until_ms, b.url
                FROM queue_entries q JOIN brokers b ON b.id = q.broker_id
                WHERE q.broker_id <> \(brokerID) AND b.last_seen_ms >= \(aliveSince.epochMilliseconds)
                ORDER BY q.tier_rank DESC, q.entered_ms, q.id
                LIMIT 5000
                """,
                logger: logger
            )
            var entries: [SharedQueueEntry] = []
            for try await row in rows.decode(
                (String, String, String?, String, String, String, String, String?, String, String?, Int64, Int64?, String?, Int64?, String).self
            ) {
                let (id, kind, from, ticket, tier, mode, line, forAgent, skills, note, entered, offered, claimedBy, claimedUntil, url) = row
                let entry = SupportQueue.Entry(
                    id: id,
                    kind: kind == "transfer" ? .transfer(from: from ?? "") : .customer,
                    ticket: ticket,
                    tier: SupportTier(rawValue: tier) ?? .basic,
                    mode: SessionMode(rawValue: mode) ?? .screen,
                    line: line,
                    forAgent: forAgent,
                    enteredAt: Date(epochMilliseconds: entered),
                    note: note,
                    skills: skills.split(separator: ",").map(String.init)
                )
                entries.append(
                    SharedQueueEntry(
                        entry: entry,
                        url: url,
                        offeredUntil: offered.map(Date.init(epochMilliseconds:)),
                        claimedBy: claimedBy,
                        claimedUntil: claimedUntil.map(Date.init(epochMilliseconds:))
                    )
                )
            }
            return entries
        }
    }

    public func claimedHere(now: Date) async throws -> Set<String> {
        try await read { connection in
            let rows = try await connection.query(
                "SELECT id FROM queue_entries WHERE broker_id = \(brokerID) AND claimed_until_ms >= \(now.epochMilliseconds)",
                logger: logger
            )
            var ids = Set<String>()
            for try await id in rows.decode(String.self) { ids.insert(id) }
            return ids
        }
    }

    public func claimForOffer(queueID: String, agent: String, until: Date, now: Date) async throws -> Bool {
        try await write(chain: false) { connection in
            let rows = try await connection.query(
                """
                UPDATE queue_entries SET claimed_by = \(agent), claimed_until_ms = \(until.epochMilliseconds)
                WHERE id = \(queueID) AND broker_id <> \(brokerID)
                  AND (claimed_until_ms IS NULL OR claimed_until_ms < \(now.epochMilliseconds))
                  AND (offered_until_ms IS NULL OR offered_until_ms < \(now.epochMilliseconds))
                RETURNING id
                """,
                logger: logger
            )
            var claimed = false
            for try await _ in rows.decode(String.self) { claimed = true }
            return claimed
        }
    }

    public func extendClaim(queueID: String, agent: String, until: Date) async throws {
        try await write(chain: false) { connection in
            try await connection.query(
                "UPDATE queue_entries SET claimed_until_ms = \(until.epochMilliseconds) WHERE id = \(queueID) AND claimed_by = \(agent)",
                logger: logger
            )
        }
    }

    public func releaseClaim(queueID: String, agent: String) async throws {
        try await write(chain: false) { connection in
            try await connection.query(
                "UPDATE queue_entries SET claimed_by = NULL, claimed_until_ms = NULL WHERE id = \(queueID) AND claimed_by = \(agent)",
                logger: logger
            )
        }
    }

    public func claimQueueEntry(
        line: String,
        agent: String,
        before: SupportQueue.Entry?,
        until: Date,
        aliveSince: Date,
        now: Date
    ) async throws -> (queueID: String, url: String)? {
        // Without a local entry to beat, anything qualifies (rank -1, entered at the end of time).
        let rank = before?.tier.priority ?? -1
        let entered = before?.enteredAt.epochMilliseconds ?? Int64.max
        let beforeIsDirected = before?.forAgent != nil
        return try await write(chain: false) { connection in
            let rows = try await connection.query(
                """
                SELECT q.id, b.url FROM queue_entries q JOIN brokers b ON b.id = q.broker_id
                WHERE q.broker_id <> \(brokerID) AND b.last_seen_ms >= \(aliveSince.epochMilliseconds)
                  AND (q.for_agent = \(agent) OR (q.for_agent IS NULL AND q.line = \(line) AND NOT \(beforeIsDirected)
                       AND (q.tier_rank > \(rank) OR (q.tier_rank = \(rank) AND q.entered_ms < \(entered)))))
                  AND (q.claimed_until_ms IS NULL OR q.claimed_until_ms < \(now.epochMilliseconds) OR q.claimed_by = \(agent))
                  AND (q.offered_until_ms IS NULL OR q.offered_until_ms < \(now.epochMilliseconds))
                ORDER BY (q.for_agent IS NULL), q.tier_rank DESC, q.entered_ms, q.id
                LIMIT 1
                FOR UPDATE OF q SKIP LOCKED
                """,
                logger: logger
            )
            var found: (String, String)?
            for try await row in rows.decode((String, String).self) { found = row }
            guard let (id, url) = found else { return nil }
            try await connection.query(
                "UPDATE queue_entries SET claimed_by = \(agent), claimed_until_ms = \(until.epochMilliseconds) WHERE id = \(id)",
                logger: logger
            )
            return (id, url)
        }
    }

    public func claimedEntries(forAgent agent: String, now: Date) async throws -> [String] {
        try await read { connection in
            let rows = try await connection.query(
                """
                SELECT id FROM queue_entries
                WHERE broker_id = \(brokerID) AND claimed_by = \(agent) AND claimed_until_ms >= \(now.epochMilliseconds)
                ORDER BY (for_agent IS NULL), tier_rank DESC, entered_ms
                """,
                logger: logger
            )
            var ids: [String] = []
            for try await id in rows.decode(String.self) { ids.append(id) }
            return ids
        }
    }
}
