import Atomics
import HTTPTypes
import Hummingbird
import NIOCore
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The HTTPS API the CLI calls (see protocol/README.md § HTTPS API), plus the join link page.
struct BrokerAPI {
    let hub: SessionHub
    let signingKey: AuditSigningKey
    /// The log's Merkle tree, shared with the checkpointer (§11.8, §11.10).
    let tree: AuditTree
    let web: WebPages
    /// Where recordings are written (§19).
    let recordings: String
    /// Evidence bundles being written now (§11.9), at most `evidenceBundlesAtOnce`.
    let bundlesWriting = ManagedAtomic(0)
    var store: any TandemStore { hub.store }

    func register(on router: Router<BasicRequestContext>) {
        // First, so that it wraps every route: HEAD answers never carry a body, refusals included.
        router.add(middleware: HeadResponseMiddleware<BasicRequestContext>())
        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/readyz") { _, _ in try await self.ready() }
        router.get("/metrics") { _, _ in await self.metricsPage() }
        router.add(middleware: web.assets(context: BasicRequestContext.self))
        router.get("/j/:code") { request, context in try self.joinPage(request, context) }
        router.get("/help") { _, _ in WebPages.page(web.customerPage, camera: true) }
        router.get("/agent") { _, _ in WebPages.page(web.agentPage, camera: true) }
        router.get("/floor") { _, _ in WebPages.page(web.floorPage, camera: false) }
        router.get("/audit") { _, _ in WebPages.page(web.auditPage, camera: false) }
        router.post("/v1/console-tokens") { request, context in try await self.consoleToken(request, context) }
        router.post("/v1/help-links") { request, context in try await self.helpLink(request, context) }
        router.post("/v1/surveys") { request, context in try await self.answerSurvey(request, context) }
        router.get("/v1/sessions/:id") { request, context in try await self.getSession(request, context) }
        router.post("/v1/sessions/:id/end") { request, context in try await self.endSession(request, context) }
        router.post("/v1/sessions/:id/transfer") { request, context in try await self.transferSession(request, context) }
        router.get("/v1/queue") { request, context in try await self.listQueue(request, context) }
        router.get("/v1/agents") { request, context in try await self.listAgents(request, context) }
        router.get("/v1/sessions/live") { request, context in try await self.listLiveSessions(request, context) }
        router.get("/v1/recordings/:id") { request, context in try await self.recording(request, context) }
        router.get("/replay") { _, _ in WebPages.page(web.replayPage, camera: false) }
        router.get("/v1/audit/sessions") { request, context in try await self.listSessions(request, context) }
        router.get("/v1/audit/sessions/:id/events") { request, context in try await self.sessionEvents(request, context) }
        router.get("/v1/audit/sessions/:id/bundle") { request, context in try await self.evidenceBundle(request, context) }
        router.get("/v1/audit/verify") { request, context in try await self.verify(request, context) }
        router.get("/v1/audit/tree-head") { request, context in try await self.currentTreeHead(request, context) }
        router.get("/v1/audit/proofs/inclusion") { request, context in try await self.inclusionProof(request, context) }
        router.get("/v1/audit/proofs/consistency") { request, context in try await self.consistencyProof(request, context) }
        router.get("/v1/audit/stats") { request, context in try await self.stats(request, context) }
        router.get("/v1/audit/export") { request, context in try await self.export(request, context) }
        router.get("/v1/audit/checkpoints") { request, context in try await self.checkpoints(request, context) }
        router.get("/v1/audit/public-key") { request, context in try await self.publicKey(request, context) }
        router.post("/v1/audit/prune") { request, context in try await self.prune(request, context) }
        // Upgrades to these are taken before the router (TandemBroker.buildWebSocketRouter); what reaches it is no upgrade.
        router.get(RouterPath(TandemWire.webSocketPath)) { _, _ -> Response in throw APIError.upgradeRequired }
        router.get(RouterPath(TandemWire.echoPath)) { _, _ -> Response in throw APIError.upgradeRequired }
        // Last, around the router's not-found responder only: JSON 404 and 405 for /v1 requests no route took.
        let table = APIRouteTable(router.routes.map { (path: $0.path, method: $0.method) })
        router.add(middleware: APIFallbackMiddleware<BasicRequestContext>(table: table))
    }

    // MARK: handlers

    func getSession(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let user = try await authenticate(request)
        let record = try await readableSession(try context.parameters.require("id"), by: user)
        return try json(record)
    }

    func endSession(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let user = try await authenticate(request)
        guard user.role.canStartSessions else { throw APIError.forbidden("role \(user.role.rawValue) cannot end sessions") }
        let id = try context.parameters.require("id")
        let end = try await decodeBody(
            EndSessionRequest.self,
            of: request,
            upTo: 16 << 10,
            shape: "{\"outcome\": \"resolved|unresolved|escalated|abandoned\", \"note\": \"...\"}"
        )
        if let note = end.note, note.count > SessionEnd.maxNoteLength {
            throw APIError.badRequest("note is limited to \(SessionEnd.maxNoteLength) characters")
        }
        let record = try await readableSession(id, by: user)
        guard user.role.canEndAnySession || record.agent == user.name else {
            throw APIError.forbidden("only the session's agent or an admin can end it")
        }
        if !record.isEnded, let live = await hub.session(id: id) {
            let ending = await hub.end(live, reason: .endedViaAPI, outcome: end.outcome, note: end.note, by: user.name)
            if ending.outcome == end.outcome, ending.reason == .endedViaAPI {
                return try json(try await store.session(id: id) ?? record)
            }
        }
        // Already ended: an outcome may be added once, when none was recorded.
        guard try await store.recordLateOutcome(sessionID: id, outcome: end.outcome, note: end.note) else {
            throw try await endConflict(id)
        }
        return try json(try await store.session(id: id) ?? record)
    }

    func joinPage(_ request: Request, _ context: BasicRequestContext) throws -> Response {
        let raw = try context.parameters.require("code")
        guard JoinCodeFormat.normalize(raw) != nil else { throw APIError.notFound }
        return WebPages.page(web.customerPage, camera: true)
    }

    /// `GET /readyz`: 200 when the broker takes sessions (its database answers and it is not
    /// shutting down), else 503.
    func ready() async throws -> Response {
        guard !hub.isShuttingDown else {
            return Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "shutting down\n")))
        }
        do {
            _ = try await store.user(name: "")
        } catch {
            return Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "database unavailable\n")))
        }
        return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ready\n")))
    }

    /// `GET /metrics`: Prometheus text format.
    func metricsPage() async -> Response {
        let metrics = hub.metrics
        let counts = await hub.sessionCounts()
        metrics.sessionsWaiting.record(counts.waiting)
        metrics.sessionsLive.record(counts.live)
        metrics.sessionsAway.record(counts.away)
        metrics.connections.record(hub.connectionCount)
        let waiting = await hub.queue.ordered
        metrics.queueWaiting.record(waiting.count)
        metrics.queueWaiting(byTier: Dictionary(grouping: waiting, by: \.tier).mapValues(\.count))
        let agents = await hub.agentList()
        metrics.agents(byState: Dictionary(grouping: agents, by: \.state).mapValues(\.count))
        metrics.queueWaiting(byLine: waiting, known: await hub.knownLines())
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: metrics.exposition()))
        )
    }

    /// `POST /v1/console-tokens`: a short-lived sign-in for the browser pages: the console and
    /// the floor for agents and admins, the audit review (`/audit`) for auditors and admins.
    func consoleToken(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let user = try await authenticate(request)
        guard user.role.canStartSessions || user.role.canReadAllSessions else {
            throw APIError.forbidden("role \(user.role.rawValue) cannot sign in to the browser pages")
        }
        var lifetime: Duration?
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: 1024)
        } catch is NIOTooManyBytesError {
            // Answered as JSON like every other refusal (Hummingbird's own 413 has no body).
            throw APIError(.payloadTooLarge, "the body is limited to 1024 bytes")
        }
        if body.readableBytes > 0 {
            guard let asked = try? TandemJSON.makeDecoder().decode(ConsoleTokenRequest.self, from: Data(buffer: body)),
                asked.lifetimeSeconds.map(ConsoleTokenRequest.lifetimeRange.contains) ?? true
            else {
                throw APIError.badRequest("the body must be {\"lifetimeSeconds\": 60-43200} or empty")
            }
            lifetime = asked.lifetimeSeconds.map { .seconds($0) }
        }
        let (token, expiresAt) = await hub.issueConsoleToken(for: user.name, lifetime: lifetime)
        let base = await hub.joinBaseURL
        // Auditors have no console: their link opens the audit review.
        let page = user.role.canStartSessions ? "/agent" : "/audit"
        return try json(ConsoleTokenGrant(token: token, expiresAt: expiresAt, url: base + page + "#token=" + token))
    }

    // MARK: helpers

    func authenticate(_ request: Request) async throws -> UserRecord {
        // The scheme is case-insensitive (RFC 9110 §11.1).
        guard let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            throw APIError.unauthorized
        }
        let token = String(header.dropFirst(7).drop { $0 == " " })
        // A console sign-in (§12) reads but never changes anything: GET and HEAD only (the /audit page reads the API with it).
        if ConsoleTokens.isWellFormed(token), request.method == .get || request.method == .head {
            guard let name = await hub.consoleUser(token: token), let user = try await store.user(name: name), user.isActive else {
                throw APIError.unauthorized
            }
            return user
        }
        guard APIToken.isWellFormed(token), let user = try await store.user(tokenHash: APIToken.hash(token)), user.isActive else {
            throw APIError.unauthorized
        }
        return user
    }

    func readableSession(_ id: String, by user: UserRecord) async throws -> SessionRecord {
        guard SessionID.isWellFormed(id), let record = try await store.session(id: id) else { throw APIError.notFound }
        // An agent asking for another agent's session learns nothing, not even that it exists.
        guard user.role.canReadAllSessions || record.agent == user.name else { throw APIError.notFound }
        return record
    }

    /// The request's JSON body as `type`; 400 saying the expected `shape` when it is not.
    func decodeBody<T: Decodable>(_ type: T.Type, of request: Request, upTo limit: Int, shape: String) async throws -> T {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            // Answered as JSON like every other refusal (Hummingbird's own 413 has no body).
            throw APIError(.payloadTooLarge, "the body is limited to \(limit) bytes")
        }
        guard let value = try? TandemJSON.makeDecoder().decode(T.self, from: Data(buffer: body)) else {
            throw APIError.badRequest("body must be \(shape)")
        }
        return value
    }

    func json(_ value: some Encodable) throws -> Response {
        let data = try TandemJSON.makeEncoder().encode(value)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
