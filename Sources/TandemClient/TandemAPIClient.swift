import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import TandemProtocol

/// The broker's HTTPS API, as the CLI uses it. Call ``shutdown()`` when done.
public final class TandemAPIClient: Sendable {
    /// A refused API call: the HTTP status and the broker's error body.
    public struct Failure: Error, CustomStringConvertible {
        public let status: Int
        public let code: String
        public let message: String
        public var description: String { "\(message) (HTTP \(status), \(code))" }
    }

    let configuration: TandemClientConfiguration
    let token: String
    let http: HTTPClient

    public init(configuration: TandemClientConfiguration, token: String) throws {
        self.configuration = configuration
        self.token = token
        var httpConfiguration = HTTPClient.Configuration()
        if let tls = try configuration.tlsConfiguration() { httpConfiguration.tlsConfiguration = tls }
        httpConfiguration.timeout = .init(connect: .seconds(10), read: .seconds(30))
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
    }

    public func shutdown() async throws {
        try await http.shutdown()
    }

    public func session(id: String) async throws -> SessionRecord {
        try await call(.GET, "/v1/sessions/\(Self.escape(id))", as: SessionRecord.self)
    }

    /// A short-lived sign-in for the browser agent console (and `/floor`); `lifetime` in
    /// seconds (60 s to 12 h), the broker's 15 minutes when nil.
    public func consoleToken(lifetime: Int? = nil) async throws -> ConsoleTokenGrant {
        guard let lifetime else { return try await call(.POST, "/v1/console-tokens", as: ConsoleTokenGrant.self) }
        let body = try TandemJSON.makeEncoder().encode(ConsoleTokenRequest(lifetimeSeconds: lifetime))
        return try await call(.POST, "/v1/console-tokens", body: body, as: ConsoleTokenGrant.self)
    }

    /// Who is on this broker's floor (§20.1).
    public func agents() async throws -> AgentList {
        try await call(.GET, "/v1/agents", as: AgentList.self)
    }

    public func endSession(id: String, outcome: SessionOutcome, note: String?) async throws -> SessionRecord {
        let body = try TandemJSON.makeEncoder().encode(EndSessionRequest(outcome: outcome, note: note))
        return try await call(.POST, "/v1/sessions/\(Self.escape(id))/end", body: body, as: SessionRecord.self)
    }

    /// Sessions, newest first. `since` and `until` are dates (`2026-11-22`) or RFC 3339 times.
    public func sessions(
        ticket: String? = nil,
        agent: String? = nil,
        outcome: SessionOutcome? = nil,
        since: String? = nil,
        until: String? = nil,
        limit: Int? = nil
    ) async throws -> [SessionRecord] {
        let query = AuditQuery(ticket: ticket, agent: agent, outcome: outcome, since: since, until: until, limit: limit)
        return try await call(.GET, "/v1/audit/sessions" + query.queryString(), as: SessionList.self).sessions
    }

    public func timeline(sessionID: String) async throws -> AuditTimeline {
        try await call(.GET, "/v1/audit/sessions/\(Self.escape(sessionID))/events", as: AuditTimeline.self)
    }

    /// The recording file of an ended session (§19), as it is on the broker.
    public func recording(sessionID: String) async throws -> ByteBuffer {
        try await raw(.GET, "/v1/recordings/\(Self.escape(sessionID))")
    }

    /// The live sessions of this broker, for supervisors (§18).
    public func liveSessions() async throws -> LiveSessionList {
        try await call(.GET, "/v1/sessions/live", as: LiveSessionList.self)
    }

    /// Who waits for an agent on this broker (§16).
    public func queue() async throws -> QueueListing {
        try await call(.GET, "/v1/queue", as: QueueListing.self)
    }

    /// Hands the live session to a line or a named agent (§17); returns the pending notice.
    public func transferSession(id: String, _ transfer: TransferRequest) async throws -> SessionTransferred {
        let body = try TandemJSON.makeEncoder().encode(transfer)
        let message = try await call(.POST, "/v1/sessions/\(Self.escape(id))/transfer", body: body, as: ControlMessage.self)
        guard case .sessionTransferred(let notice) = message else {
            throw Failure(status: 200, code: "unexpected-body", message: "not a session.transferred")
        }
        return notice
    }

    public func verifyAuditLog() async throws -> AuditVerification {
        try await call(.GET, "/v1/audit/verify", as: AuditVerification.self)
    }

    func call<T: Decodable>(_ method: HTTPMethod, _ path: String, body: Data? = nil, as type: T.Type) async throws -> T {
        try TandemJSON.makeDecoder().decode(T.self, from: try await raw(method, path, body: body))
    }

    /// The body of a successful call; a refusal throws ``Failure``.
    func raw(_ method: HTTPMethod, _ path: String, body: Data? = nil) async throws -> ByteBuffer {
        var request = HTTPClientRequest(url: configuration.trimmedServerURL + path)
        request.method = method
        // An empty token: a route without an account (`POST /v1/surveys`).
        if !token.isEmpty { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await http.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 30)
        guard (200..<300).contains(response.status.code) else {
            let error = try? TandemJSON.makeDecoder().decode(APIErrorBody.self, from: bytes)
            throw Failure(
                status: Int(response.status.code),
                code: error?.error.code ?? "http-\(response.status.code)",
                message: error?.error.message ?? response.status.reasonPhrase
            )
        }
        return bytes
    }

    static func escape(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? value
    }
}
