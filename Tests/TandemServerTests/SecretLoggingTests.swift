import Foundation
import Logging
import TandemClient
import TandemCore
import TandemProtocol
import TandemServer
import Testing

/// No secret reaches the broker's log at any level: a real `tandem serve` at
/// `--log-level trace` with a webhook secret (and a PostgreSQL password), through a session
/// that uses an API token, a console sign-in, a join code (link and `hello`), resume tokens
/// and an API call; then the whole log is searched for each secret, as text and as the hex
/// bytes the WebSocket library prints of each frame at trace.
@Suite("Secrets never reach the broker's log", .timeLimit(.minutes(2)))
struct SecretLoggingTests {
    let logger = Logger(label: "tandem.test.secrets")

    static let bareCustomer = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("interop/bare_customer.py").path

    @Test("printing, reflecting or dumping the broker configuration shows no webhook secret")
    func configurationHidesSecret() {
        var configuration = BrokerConfiguration()
        configuration.webhookSecret = "whsec-unit-0123456789"
        #expect(configuration.webhookSecret == "whsec-unit-0123456789")
        #expect(!"\(configuration)".contains("whsec-unit"))
        #expect(!String(reflecting: configuration).contains("whsec-unit"))
        var dumped = ""
        dump(configuration, to: &dumped)
        #expect(!dumped.contains("whsec-unit"))
    }

    @Test("SQLite: webhook secret, API and console tokens, join code and resume tokens are not in a trace log")
    func sqlite() async throws {
        try await runSession(database: nil, databasePassword: nil)
    }

    @Test(
        "PostgreSQL: the database password is not in a trace log either",
        .enabled(if: ProcessInfo.processInfo.environment["TANDEM_TEST_POSTGRES_URL"] != nil, "TANDEM_TEST_POSTGRES_URL is not set")
    )
    func postgres() async throws {
        let base = try #require(ProcessInfo.processInfo.environment["TANDEM_TEST_POSTGRES_URL"])
        var url = try #require(URLComponents(string: base))
        // The test server trusts local connections, so any password is accepted (and sent
        // when asked for): what matters is that the broker holds one.
        let password = "pgpw" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        url.password = password
        url.queryItems =
            (url.queryItems ?? []) + [
                URLQueryItem(name: "schema", value: "sl_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased())
            ]
        try await runSession(database: try #require(url.string), databasePassword: password)
    }

    /// The bytes of `text` as swift-websocket's trace lines print a frame's first bytes.
    static func traceHex(_ text: some StringProtocol) -> String {
        text.utf8.map { byte in (byte < 16 ? " 0" : " ") + String(byte, radix: 16) }.joined()
    }

    func runSession(database: String?, databasePassword: String?) async throws {
        let directory = NSTemporaryDirectory() + "tandem-secrets-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logFile = directory + "-serve.log"
        defer { try? FileManager.default.removeItem(atPath: logFile) }
        let webhookSecret = "whsec" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let databaseArguments = database.map { ["--database", $0] } ?? []

        // The agent's API token, made by the CLI as an operator would.
        let added = try await ChildProcess.run(
            [try BrokerProcess.binary, "users", "add", "alice", "--role", "agent", "--data-dir", directory] + databaseArguments
        )
        let token = try #require(
            String(decoding: added.stdout, as: UTF8.self).split(separator: "\n").map(String.init).last { $0.hasPrefix("tdm_") },
            "users add: \(String(decoding: added.stderr, as: UTF8.self))"
        )

        // Nothing listens on port 9: deliveries fail and are retried, which is logged too.
        let broker = try await BrokerProcess.start(
            directory: directory,
            arguments: ["--webhook", "http://127.0.0.1:9/hook", "--webhook-on-start"] + databaseArguments,
            logLevel: "trace",
            logFile: logFile,
            environment: ["TANDEM_WEBHOOK_SECRET": webhookSecret]
        )
        var secrets = ["webhook secret": webhookSecret, "API token": token]
        if let databasePassword { secrets["database password"] = databasePassword }
        do {
            let configuration = broker.clientConfiguration
            let api = try TandemAPIClient(configuration: configuration, token: token)
            let console: ConsoleTokenGrant
            do {
                console = try await api.consoleToken()
            } catch {
                try? await api.shutdown()
                throw error
            }
            secrets["console token"] = console.token

            // The agent signs in with the console token and waits for the end.
            let (createdStream, createdSink) = AsyncStream<SessionCreated>.makeStream()
            let agent = Task { [logger] in
                defer { createdSink.finish() }
                return try await TandemConnection.run(
                    configuration: configuration,
                    hello: .agent(token: console.token, start: .init(ticket: "HD-SECRETS", mode: .camera)),
                    logger: logger
                ) { inbound, _ -> SessionEnded? in
                    var events = inbound.makeAsyncIterator()
                    guard case .sessionCreated(let created) = try await events.nextControl() else { return nil }
                    createdSink.yield(created)
                    return try await events.untilEnded()
                }.result ?? nil
            }
            var createdIterator = createdStream.makeAsyncIterator()
            let created = try #require(await createdIterator.next(), "no session.created")
            secrets["join code"] = created.joinCode
            secrets["join code (digits)"] = created.joinCode.filter(\.isNumber)
            if let key = JoinLink.key(fromLink: created.joinURL) { secrets["link key"] = key }
            if let resume = created.resumeToken { secrets["agent resume token"] = resume }

            // A customer without a client name opens the link, joins with the code, leaves.
            let bare = try await ChildProcess.run([
                "python3", Self.bareCustomer, created.joinURL, "wss://127.0.0.1:\(broker.port)/v1/ws", created.joinCode, configuration.caFile ?? "",
            ])
            try #require(bare.status == 0, "bare_customer.py: \(String(decoding: bare.stderr, as: UTF8.self))")
            let joined = try JSONSerialization.jsonObject(with: bare.stdout) as? [String: Any]
            let customerResume = try #require(joined?["resumeToken"] as? String, "no resume token in \(String(decoding: bare.stdout, as: UTF8.self))")
            secrets["customer resume token"] = customerResume

            // It comes back with its resume token and gets a new one.
            let (resumedStream, resumedSink) = AsyncStream<SessionResumed>.makeStream()
            let customer = Task { [logger] in
                defer { resumedSink.finish() }
                return try await TandemConnection.run(configuration: configuration, hello: .resume(customerResume, role: .customer), logger: logger) {
                    inbound,
                    _ -> SessionEnded? in
                    var events = inbound.makeAsyncIterator()
                    while let event = try await events.next() {
                        if case .control(.sessionResumed(let resumed)) = event { resumedSink.yield(resumed) }
                        if case .control(.sessionEnded(let ended)) = event { return ended }
                    }
                    return nil
                }.result ?? nil
            }
            var resumedIterator = resumedStream.makeAsyncIterator()
            let resumed = try #require(await resumedIterator.next(), "the customer could not resume")
            secrets["second customer resume token"] = resumed.resumeToken

            // The agent ends it through the API (the token in an Authorization header).
            let record = try await api.endSession(id: created.sessionID, outcome: .resolved, note: "secrets test")
            try await api.shutdown()
            #expect(record.outcome == .resolved)
            #expect(try await agent.value?.outcome == .resolved)
            #expect(try await customer.value != nil)
        } catch {
            await broker.terminate()
            throw error
        }
        await broker.terminate()

        let log = String(decoding: try Data(contentsOf: URL(fileURLWithPath: logFile)), as: UTF8.self)
        // The log is a verbose log of that session (else the test proves nothing): the
        // service lifecycle's debug lines (which print each service) and the join.
        #expect(log.contains("Starting service"), "no debug lines in the log")
        #expect(log.contains("Customer joined"))
        for (name, secret) in secrets.sorted(by: { $0.key < $1.key }) {
            #expect(!log.contains(secret), "the \(name) is in the broker's log")
            #expect(!log.contains(Self.traceHex(secret.prefix(8))), "the \(name) is in the broker's log as frame bytes")
        }
    }
}
