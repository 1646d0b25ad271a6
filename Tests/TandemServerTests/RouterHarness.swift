import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import TandemCore
import TandemProtocol
import TandemSQLite
import TandemServer
import Testing

/// The broker's HTTP routes without a socket: the application of
/// `TandemBroker.buildApplication()` on a fresh data directory and SQLite file, driven through
/// HummingbirdTesting's `.router` framework. One user of each role is in the store (and a
/// revoked agent); sessions are written to the store directly (``seedSessions()``), since
/// only the WebSocket relay opens them.
struct RouterHarness: Sendable {
    let directory: String
    let store: SQLiteStore
    let configuration: BrokerConfiguration
    let logger: Logger
    let client: any TestClientProtocol
    /// Whole seconds, ten days ago: the first seeded session starts here; users were added a day before.
    let start: Date
    /// API tokens: agents alice and bob, auditor audrey, admin ada, and rex (an agent, revoked).
    let alice: String
    let bob: String
    let audrey: String
    let ada: String
    let rex: String

    /// Builds the application on a new data directory (plaintext by default: the routes are
    /// the same over TLS, and no development CA has to be made for every test), runs `body`
    /// against it, and removes the directory.
    static func run<T>(
        configure: (inout BrokerConfiguration) -> Void = { $0.transportSecurity = .insecurePlaintext },
        _ body: @Sendable (RouterHarness) async throws -> T
    ) async throws -> T {
        let directory = NSTemporaryDirectory() + "tandem-router-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logger = Self.makeLogger()
        let store = try SQLiteStore(path: directory + "/tandem.sqlite", logger: logger)
        let start = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 10 * 86_400).rounded(.down))
        let added = start.addingTimeInterval(-86_400)
        func add(_ name: String, _ role: UserRole) async throws -> String {
            let token = APIToken.generate()
            _ = try await store.addUser(UserRecord(name: name, role: role, tokenHash: APIToken.hash(token), createdAt: added))
            return token
        }
        let alice = try await add("alice", .agent)
        let bob = try await add("bob", .agent)
        let audrey = try await add("audrey", .auditor)
        let ada = try await add("ada", .admin)
        let rex = try await add("rex", .agent)
        _ = try await store.revokeUser(name: "rex", at: start.addingTimeInterval(-43_200))

        var settings = BrokerConfiguration()
        settings.dataDirectory = directory
        settings.port = 0
        configure(&settings)
        let configuration = settings
        let broker = TandemBroker(configuration: configuration, store: store, logger: logger)
        let app = try await broker.buildApplication()
        return try await app.test(.router) { client in
            try await body(
                RouterHarness(
                    directory: directory,
                    store: store,
                    configuration: configuration,
                    logger: logger,
                    client: client,
                    start: start,
                    alice: alice,
                    bob: bob,
                    audrey: audrey,
                    ada: ada,
                    rex: rex
                )
            )
        }
    }

    static func makeLogger() -> Logger {
        var logger = Logger(label: "tandem.test.router") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = ProcessInfo.processInfo.environment["TANDEM_TEST_LOG"] == nil ? .error : .debug
        return logger
    }

    /// Sends a request, with `token` as `Authorization: Bearer` and `body` as JSON.
    func request(_ method: HTTPRequest.Method, _ path: String, token: String? = nil, body: String? = nil) async throws -> TestResponse {
        var headers = HTTPFields()
        if let token { headers[.authorization] = "Bearer \(token)" }
        if body != nil { headers[.contentType] = "application/json" }
        return try await client.executeRequest(uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }

    /// `GET path` as `token`.
    func get(_ path: String, token: String? = nil) async throws -> TestResponse {
        try await request(.get, path, token: token)
    }

    /// The sessions of ``seedSessions()``.
    struct Sessions: Sendable {
        /// alice, HD-1, screen: answered after 42 s, ended by alice after 300 s as `resolved`,
        /// with a note that a spreadsheet would run as a formula.
        let resolved: String
        /// bob, HD-2, camera, a day later: nobody joined, `customer-left` after 120 s, no outcome.
        let noOutcome: String
        /// alice, HD-3, two days later: open in the log, not live on this broker.
        let open: String
    }

    /// The note of ``Sessions/resolved``.
    static let formulaNote = "=SUM(A1:A2)"

    /// Writes three sessions (twelve audit events in all with the users' six, in time order).
    /// Called after the application is built, which closes open sessions as `broker-crash`.
    func seedSessions() async throws -> Sessions {
        let sessions = Sessions(resolved: SessionID.generate(), noOutcome: SessionID.generate(), open: SessionID.generate())
        try await store.insertSession(
            SessionRecord(
                id: sessions.resolved,
                ticket: "HD-1",
                agent: "alice",
                mode: .screen,
                createdAt: start,
                expiresAt: start.addingTimeInterval(600)
            )
        )
        try await store.recordCustomerJoined(
            sessionID: sessions.resolved,
            at: start.addingTimeInterval(42),
            client: "tandem-swift/0.1",
            address: "198.51.100.4"
        )
        var resolved = SessionEnding(
            endedAt: start.addingTimeInterval(300),
            reason: .agentEnded,
            outcome: .resolved,
            note: Self.formulaNote,
            traffic: SessionTraffic(
                agentToCustomer: TrafficCounters(frames: 1, bytes: 1024),
                customerToAgent: TrafficCounters(frames: 90, bytes: 18_000_000)
            )
        )
        resolved.endedBy = "alice"
        try await store.recordEnding(sessionID: sessions.resolved, ending: resolved)

        let secondDay = start.addingTimeInterval(86_400)
        try await store.insertSession(
            SessionRecord(
                id: sessions.noOutcome,
                ticket: "HD-2",
                agent: "bob",
                mode: .camera,
                createdAt: secondDay,
                expiresAt: secondDay.addingTimeInterval(600)
            )
        )
        var left = SessionEnding(
            endedAt: secondDay.addingTimeInterval(120),
            reason: .customerLeft,
            outcome: nil,
            note: nil,
            traffic: SessionTraffic()
        )
        left.endedBy = "customer"
        try await store.recordEnding(sessionID: sessions.noOutcome, ending: left)

        let thirdDay = start.addingTimeInterval(2 * 86_400)
        try await store.insertSession(
            SessionRecord(
                id: sessions.open,
                ticket: "HD-3",
                agent: "alice",
                mode: .screen,
                createdAt: thirdDay,
                expiresAt: thirdDay.addingTimeInterval(600)
            )
        )
        return sessions
    }

    /// RFC 3339, as the API writes and reads times.
    static func time(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try TandemJSON.makeDecoder().decode(T.self, from: Data(body.readableBytesView))
    }
}

/// Expects the documented API error (protocol/README.md §9): `status`, and a JSON body
/// `{"error":{"code": code, "message": …}}` with a message.
func expectAPIError(
    _ response: TestResponse,
    _ status: HTTPResponse.Status,
    _ code: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(response.status == status, "\(response.status.code) \(response.text)", sourceLocation: sourceLocation)
    #expect(response.headers[.contentType] == "application/json", sourceLocation: sourceLocation)
    let error = try? response.decode(APIErrorBody.self).error
    #expect(error?.code == code, "body: \(response.text)", sourceLocation: sourceLocation)
    #expect(error.map { !$0.message.isEmpty } == true, sourceLocation: sourceLocation)
}
