import HTTPTypes
import Hummingbird
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The auditors' endpoints, `/v1/audit/...` (protocol/README.md § HTTPS API and § Audit log).
extension BrokerAPI {
    func listSessions(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let user = try await authenticate(request)
        let filter = try sessionFilter(request, for: user)
        return try json(SessionList(sessions: try await store.sessions(matching: filter)))
    }

    func sessionEvents(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let user = try await authenticate(request)
        let record = try await readableSession(try context.parameters.require("id"), by: user)
        return try json(AuditTimeline(session: record, events: try await store.events(sessionID: record.id)))
    }

    func verify(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let user = try await authenticate(request)
        guard user.role.canReadAllSessions else { throw APIError.forbidden("only auditors and admins verify the audit log") }
        // What this broker signed last, kept outside the database (§11.7): a log behind it is rolled-back.
        let signedHead: AuditCheckpoint? = try? signingKey.head.load()
        return try json(try await store.verifyAuditLog(publicKey: signingKey.publicKey, signedHead: signedHead))
    }

    func stats(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let user = try await authenticate(request)
        var filter = try sessionFilter(request, for: user)
        filter.limit = Int.max
        let sessions = try await store.sessions(matching: filter)
        // Transfers and the queue come from the period's events (sessions are selected by creation time).
        let events = try await store.auditEvents(since: filter.since, until: nil, limit: Int.max)
        let inPeriod = events.filter { event in filter.until.map { event.at < $0 } ?? true }
        let queue = user.role.canReadAllSessions && filter.agent == nil && filter.ticket == nil ? QueueStats(events: inPeriod) : nil
        var stats = AuditStats(sessions: sessions, since: filter.since, until: filter.until, transfers: events, queue: queue)
        // Answers may come up to a day after the period: every answer to its sessions counts.
        stats.survey = SurveyStats(sessions: sessions, events: events)
        return try json(stats)
    }

    /// `format=csv|jsonl`, `what=sessions|events`, plus the session filters (or since/until for events).
    func export(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let user = try await authenticate(request)
        let query = request.uri.queryParameters
        let format = query.get("format") ?? "jsonl"
        guard let exportFormat = AuditExport.Format(rawValue: format) else { throw APIError.badRequest("format must be csv or jsonl") }
        let body: String
        switch query.get("what") ?? "sessions" {
        case "sessions":
            var filter = try sessionFilter(request, for: user)
            if query.get("limit") == nil { filter.limit = Int.max }
            let sessions = try await store.sessions(matching: filter)
            // The customers' survey answers (§5.16), given up to a day after each session.
            var surveys: [String: AuditEvent] = [:]
            if exportFormat == .csv {
                let ids = Set(sessions.map(\.id))
                for event in try await store.auditEvents(since: filter.since, until: nil, limit: Int.max)
                where event.kind == .surveyAnswered && event.sessionID.map(ids.contains) == true && surveys[event.sessionID ?? ""] == nil {
                    surveys[event.sessionID ?? ""] = event
                }
            }
            body = try AuditExport.sessions(sessions.reversed(), surveys: surveys, format: exportFormat)
        case "events":
            guard user.role.canReadAllSessions else { throw APIError.forbidden("only auditors and admins export the event log") }
            let filter = try sessionFilter(request, for: user)
            body = try AuditExport.events(try await store.auditEvents(since: filter.since, until: filter.until, limit: Int.max), format: exportFormat)
        default:
            throw APIError.badRequest("what must be sessions or events")
        }
        let type = exportFormat == .csv ? "text/csv; charset=utf-8" : "application/x-ndjson"
        return Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    func checkpoints(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let user = try await authenticate(request)
        guard user.role.canReadAllSessions else { throw APIError.forbidden("only auditors and admins read checkpoints") }
        return try json(AuditCheckpointList(publicKey: signingKey.publicKey, checkpoints: try await store.checkpoints()))
    }

    func publicKey(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        _ = try await authenticate(request)
        return try json(signingKey.publicKey)
    }

    func prune(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let user = try await authenticate(request)
        guard user.role.canPruneAuditLog else { throw APIError.forbidden("only admins prune the audit log") }
        let prune = try await decodeBody(PruneRequest.self, of: request, upTo: 4 << 10, shape: "{\"before\": \"2026-01-01T00:00:00Z\"}")
        guard prune.before <= Date() else { throw APIError.badRequest("before must not be in the future") }
        let result = try await store.prune(before: prune.before, actor: user.name, at: Date(), signer: signingKey.signer)
        if let checkpoint = result.checkpoint { try? signingKey.head.record(checkpoint) }
        return try json(result)
    }

    /// Filters from the query (`ticket`, `agent`, `outcome`, `since`, `until`, `limit`);
    /// agents are held to their own sessions.
    func sessionFilter(_ request: Request, for user: UserRecord) throws -> SessionFilter {
        let query = request.uri.queryParameters
        var filter = SessionFilter()
        filter.ticket = query.get("ticket")
        filter.agent = query.get("agent")
        if let outcome = query.get("outcome") {
            guard let value = SessionOutcome(rawValue: outcome) else {
                throw APIError.badRequest("outcome must be resolved, unresolved, escalated or abandoned")
            }
            filter.outcome = value
        }
        for (name, keyPath) in [("since", \SessionFilter.since), ("until", \SessionFilter.until)] {
            guard let text = query.get(name) else { continue }
            // Exactly RFC 3339: a partial, zoneless or impossible time is refused, never guessed.
            guard let date = QueryDate.parse(text) else { throw APIError.badRequest("\(name) must be \(QueryDate.expected)") }
            filter[keyPath: keyPath] = date
        }
        if let limit = query.get("limit") {
            guard let value = Int(limit), (1...10_000).contains(value) else { throw APIError.badRequest("limit must be 1-10000") }
            filter.limit = value
        }
        if !user.role.canReadAllSessions {
            // Agents see their own sessions only.
            if let agent = filter.agent, agent != user.name { throw APIError.forbidden("agents can read only their own sessions") }
            filter.agent = user.name
        }
        return filter
    }
}
