import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOSSL
import Synchronization
import TandemClient
import TandemCore
import TandemProtocol
import TandemSQLite
import Testing

/// A local OpenTelemetry collector: takes OTLP/HTTP JSON posts on `/v1/traces` and keeps their bodies.
final class TraceCollector: Sendable {
    /// One exported span, as the OTLP JSON encoding has it.
    struct Span: Sendable {
        var name: String
        var traceID: String
        var parentSpanID: String
        var attributes: [String: String]
        var events: [String]
    }

    let bodies = Mutex<[String]>([])

    /// Runs the collector on 127.0.0.1 port 0 around `body`, which gets its base URL.
    func run<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        let router = Router()
        router.post("/v1/traces") { request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 8 << 20)
            self.bodies.withLock { $0.append(String(buffer: bytes)) }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{}")))
        }
        return try await LocalHTTPServer.run(router, body)
    }

    /// Every span received so far, with `service.name` of its resource.
    func spans() throws -> [(service: String, span: Span)] {
        var spans: [(String, Span)] = []
        for body in bodies.withLock({ $0 }) {
            let root = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
            for resourceSpans in root["resourceSpans"] as? [[String: Any]] ?? [] {
                let resource = Self.attributes((resourceSpans["resource"] as? [String: Any])?["attributes"])
                for scope in resourceSpans["scopeSpans"] as? [[String: Any]] ?? [] {
                    for span in scope["spans"] as? [[String: Any]] ?? [] {
                        let events = (span["events"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
                        spans.append(
                            (
                                resource["service.name"] ?? "",
                                Span(
                                    name: span["name"] as? String ?? "",
                                    traceID: span["traceId"] as? String ?? "",
                                    parentSpanID: span["parentSpanId"] as? String ?? "",
                                    attributes: Self.attributes(span["attributes"]),
                                    events: events
                                )
                            )
                        )
                    }
                }
            }
        }
        return spans
    }

    /// A trace or span id as lowercase hex, whether it came as hex or as base64.
    static func hex(_ id: String) -> String {
        if id.count == 32, id.allSatisfy(\.isHexDigit) { return id.lowercased() }
        guard let bytes = Data(base64Encoded: id) else { return id }
        return bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// OTLP JSON key-value attributes as text (`{"key": k, "value": {"stringValue"|"intValue"|…: v}}`).
    private static func attributes(_ list: Any?) -> [String: String] {
        var result: [String: String] = [:]
        for item in list as? [[String: Any]] ?? [] {
            guard let key = item["key"] as? String, let value = (item["value"] as? [String: Any])?.values.first else { continue }
            result[key] = "\(value)"
        }
        return result
    }
}

@Suite("OpenTelemetry tracing of `tandem serve`: off by default; on, request and session spans, no secret", .timeLimit(.minutes(3)))
struct TracingTests {
    let logger = Logger(label: "tandem.test.tracing")

    /// A data directory with an agent; returns it and the agent's token.
    func prepare() async throws -> (String, String) {
        let directory = NSTemporaryDirectory() + "tandem-tracing-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: directory + "/tandem.sqlite", logger: logger)
        let token = APIToken.generate()
        _ = try await store.addUser(UserRecord(name: "alice", role: .agent, tokenHash: APIToken.hash(token), createdAt: Date()))
        return (directory, token)
    }

    /// A GET against the broker (its development certificate is not checked: the test is
    /// about spans); returns the status code. In process: Foundation's `Process.run()`
    /// crashed twice launching curl here during the parallel suite.
    func get(_ url: String, headers: [String] = []) async throws -> String {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        var request = HTTPClientRequest(url: url)
        for header in headers {
            let (name, value) = header.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }.pair
            request.headers.add(name: name, value: value)
        }
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            _ = try await response.body.collect(upTo: 1 << 20)
            try await client.shutdown()
            return String(response.status.code)
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// What a session gave out that must never reach a span.
    struct Secrets: Sendable {
        var sessionID = ""
        var code = ""
        var joinURL = ""
        var resumeTokens: [String] = []
    }

    /// One session: the agent starts it, the join page is fetched, the customer joins, the agent ends it resolved.
    func oneSession(_ broker: BrokerProcess, token: String) async throws -> Secrets {
        let configuration = broker.clientConfiguration
        let (created, createdSink) = AsyncStream<SessionCreated>.makeStream()
        let secrets = Mutex(Secrets())
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [logger] in
                defer { createdSink.finish() }
                _ = try await TandemConnection.run(
                    configuration: configuration,
                    hello: .agent(token: token, start: .init(ticket: "HD-TRACE", mode: .camera)),
                    logger: logger
                ) { inbound, outbound in
                    var events = inbound.makeAsyncIterator()
                    guard case .sessionCreated(let session) = try await events.nextControl() else { return }
                    createdSink.yield(session)
                    while let event = try await events.next() {
                        switch event {
                        case .control(.peerJoined):
                            try await outbound.send(.sessionEnd(SessionEnd(outcome: .resolved, note: "traced")))
                        case .control(.sessionEnded):
                            return
                        default:
                            continue
                        }
                    }
                }
            }
            var iterator = created.makeAsyncIterator()
            let session = try #require(await iterator.next())
            secrets.withLock {
                $0.sessionID = session.sessionID
                $0.code = session.joinCode
                $0.joinURL = session.joinURL
                $0.resumeTokens += [session.resumeToken].compactMap { $0 }
            }
            #expect(try await get(session.joinURL) == "200")
            let customer = try await TandemConnection.run(configuration: configuration, hello: .customer(code: session.joinCode), logger: logger) {
                inbound,
                _ -> Bool in
                var events = inbound.makeAsyncIterator()
                guard case .sessionJoined(let joined) = try await events.nextControl() else { return false }
                secrets.withLock { $0.resumeTokens += [joined.resumeToken].compactMap { $0 } }
                while let event = try await events.next() {
                    if case .control(.sessionEnded) = event { return true }
                }
                return true
            }
            // A customer that never joined would leave the agent waiting for it until the suite's time limit.
            guard customer.result == true else {
                group.cancelAll()
                throw TestFailure("the customer did not join: closed with \(customer.closure)")
            }
            try await group.waitForAll()
        }
        return secrets.withLock { $0 }
    }

    @Test("with --otel-endpoint: a span per request (route template, status, the caller's trace) and one per session, flushed at shutdown")
    func spansReachTheCollector() async throws {
        let (directory, token) = try await prepare()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let collector = TraceCollector()
        let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
        let secrets = try await collector.run { url in
            let broker = try await BrokerProcess.start(
                directory: directory,
                arguments: [
                    "--otel-endpoint", url, "--otel-protocol", "http-json", "--otel-service-name", "tandem-test", "--otel-trust-traceparent",
                ],
                environment: ["OTEL_BSP_SCHEDULE_DELAY": "100"]
            )
            let secrets = try await oneSession(broker, token: token)
            let base = "https://127.0.0.1:\(broker.port)"
            #expect(
                try await get(
                    base + "/v1/sessions/\(secrets.sessionID)",
                    headers: ["Authorization: Bearer \(token)", "traceparent: 00-\(traceID)-00f067aa0ba902b7-01"]
                ) == "200"
            )
            #expect(try await get(base + "/v1/sessions/live") == "401")
            // Graceful shutdown: the exporter stops after the broker and sends what is left.
            await broker.terminate()
            return secrets
        }
        let spans = try collector.spans()
        #expect(!spans.isEmpty)
        #expect(spans.allSatisfy { $0.service == "tandem-test" })

        let session = try #require(spans.map(\.span).first { $0.name == "tandem.session" })
        #expect(session.attributes["tandem.session.id"] == secrets.sessionID)
        #expect(session.attributes["tandem.ticket"] == nil)
        #expect(session.attributes["tandem.agent"] == "alice")
        #expect(session.attributes["tandem.session.via"] == "code")
        #expect(session.attributes["tandem.session.end_reason"] == "agent-ended")
        #expect(session.attributes["tandem.session.outcome"] == "resolved")
        #expect(session.events == ["customer.joined", "session.ended"])

        let lookup = try #require(spans.map(\.span).first { $0.attributes["http.route"] == "/v1/sessions/{id}" })
        #expect(lookup.name == "GET /v1/sessions/{id}")
        #expect(lookup.attributes["http.response.status_code"] == "200")
        // The caller's traceparent is honoured: the span is in the caller's trace (swift-otel's
        // JSON writes ids as protobuf's JSON mapping does, in base64; OTLP/JSON says hex).
        #expect(TraceCollector.hex(lookup.traceID) == traceID)
        #expect(!lookup.parentSpanID.isEmpty)

        let join = try #require(spans.map(\.span).first { $0.attributes["http.route"] == "/j/{code}" })
        #expect(join.name == "GET /j/{code}")
        let refused = try #require(spans.map(\.span).first { $0.attributes["http.route"] == "/v1/sessions/live" })
        #expect(refused.attributes["http.response.status_code"] == "401")

        // Nothing secret or peer-supplied in anything sent: no join code (grouped or not), no
        // link, no token, no resume token, no path as sent.
        let sent = collector.bodies.withLock { $0.joined(separator: "\n") }
        let digits = secrets.code.filter(\.isNumber)
        #expect(!digits.isEmpty)
        for secret in [secrets.code, digits, secrets.joinURL, token, "/j/" + secrets.code] + secrets.resumeTokens {
            #expect(!sent.contains(secret), "a secret reached the collector")
        }
        #expect(!sent.contains("/v1/sessions/\(secrets.sessionID)"))
    }

    @Test("a client's traceparent is not continued without --otel-trust-traceparent; OTEL_* values stay out of the log")
    func untrustedTraceparent() async throws {
        let (directory, token) = try await prepare()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let collector = TraceCollector()
        let traceID = "0af7651916cd43dd8448eb211c80319c"
        let log = directory + "/broker.log"
        try await collector.run { url in
            let broker = try await BrokerProcess.start(
                directory: directory,
                arguments: ["--otel-endpoint", url, "--otel-protocol", "http-json"],
                logLevel: "trace",
                logFile: log,
                environment: [
                    "OTEL_BSP_SCHEDULE_DELAY": "100", "OTEL_LOG_LEVEL": "trace",
                    "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer collector-secret-4711",
                ]
            )
            #expect(
                try await get(
                    "https://127.0.0.1:\(broker.port)/v1/queue",
                    headers: ["Authorization: Bearer \(token)", "traceparent: 00-\(traceID)-00f067aa0ba902b7-01"]
                ) == "200"
            )
            await broker.terminate()
        }
        let spans = try collector.spans().map(\.span)
        let queue = try #require(spans.first { $0.attributes["http.route"] == "/v1/queue" })
        #expect(TraceCollector.hex(queue.traceID) != traceID)
        #expect(queue.parentSpanID.isEmpty)
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(!text.contains("collector-secret-4711"), "the collector's credentials reached the log")
    }

    @Test("without --otel-endpoint nothing is sent, even with the OTEL_* exporter variables set")
    func offByDefault() async throws {
        let (directory, token) = try await prepare()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let collector = TraceCollector()
        try await collector.run { url in
            let broker = try await BrokerProcess.start(
                directory: directory,
                environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": url, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_BSP_SCHEDULE_DELAY": "100"]
            )
            let secrets = try await oneSession(broker, token: token)
            let lookup = "https://127.0.0.1:\(broker.port)/v1/sessions/\(secrets.sessionID)"
            #expect(try await get(lookup, headers: ["Authorization: Bearer \(token)"]) == "200")
            await broker.terminate()
        }
        #expect(collector.bodies.withLock { $0.count } == 0)
    }

    @Test("bad tracing options are refused with the option's name")
    func badOptions() async throws {
        let (directory, _) = try await prepare()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for (arguments, message) in [
            (["--otel-endpoint", "collector:4318"], "--otel-endpoint must be an http(s):// URL"),
            (["--otel-protocol", "grpc"], "--otel-protocol must be http-protobuf or http-json"),
            (["--otel-sample-ratio", "1.5"], "--otel-sample-ratio must be 0-1"),
        ] {
            let process = SpawnedProcess()
            process.executableURL = URL(fileURLWithPath: try BrokerProcess.binary)
            process.arguments = ["serve", "--data-dir", directory, "--port", "0"] + arguments
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let text = String(decoding: await SpawnedProcess.readAll(errors), as: UTF8.self)
            await process.waitForExit()
            #expect(process.terminationStatus != 0)
            #expect(text.contains(message), "\(arguments): \(text)")
        }
    }
}

extension Array where Element == String {
    /// The first two elements (a header's name and value), empty strings when missing.
    fileprivate var pair: (String, String) { (first ?? "", count > 1 ? self[1] : "") }
}
