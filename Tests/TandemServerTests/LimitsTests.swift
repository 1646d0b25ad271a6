import AsyncHTTPClient
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import TandemClient
import TandemCore
import TandemProtocol
import TandemServer
import Testing
import WSClient

@Suite("Live TLS broker: limits, origins, echo, revocation, metrics", .timeLimit(.minutes(2)))
struct LimitsTests {
    let logger = Logger(label: "tandem.test.client")

    /// A raw WebSocket to `path` with extra headers; returns what came back and the close code,
    /// or throws when the upgrade is refused.
    func webSocket(
        _ broker: LiveBroker,
        path: String,
        headers: HTTPFields = [:],
        _ body: @escaping @Sendable (WebSocketInboundStream, WebSocketOutboundWriter) async throws -> [String]
    ) async throws -> ([String], UInt16?) {
        var configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 20, additionalHeaders: headers)
        configuration.sniHostname = "localhost"
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(broker.caFile)
        let box = NIOLockedValueBoxHolder()
        let close = try await WebSocketClient.connect(
            url: "wss://127.0.0.1:\(broker.port)\(path)",
            configuration: configuration,
            tlsConfiguration: tls,
            logger: logger
        ) { inbound, outbound, _ in
            box.set(try await body(inbound, outbound))
        }
        return (box.get(), close.map { UInt16(webSocketErrorCode: $0.closeCode) })
    }

    @Test("the echo endpoint sends every message back unchanged")
    func echo() async throws {
        try await LiveBroker.run { broker in
            let (seen, _) = try await webSocket(broker, path: TandemWire.echoPath) { inbound, outbound in
                var messages = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
                try await outbound.write(.text("ping 1"))
                try await outbound.write(.binary(ByteBuffer(repeating: 7, count: 200_000)))
                var seen: [String] = []
                for _ in 0..<2 {
                    switch try await messages.next() {
                    case .text(let text): seen.append(text)
                    case .binary(let buffer): seen.append("binary \(buffer.readableBytes) \(buffer.readableBytesView.allSatisfy { $0 == 7 })")
                    case nil: break
                    }
                }
                return seen
            }
            #expect(seen == ["ping 1", "binary 200000 true"])
        }
    }

    @Test("a /v1/echo connection is closed with 1000 when its lifetime is over; a flood of messages is closed with 1008")
    func echoBudgets() async throws {
        try await LiveBroker.run(configure: { $0.limits.echoLifetime = .seconds(1) }) { broker in
            let (_, lifetimeClose) = try await webSocket(broker, path: TandemWire.echoPath) { inbound, _ in
                do { for try await _ in inbound {} } catch {}
                return []
            }
            #expect(lifetimeClose == 1000)
        }
        // A broker of its own with a long lifetime, so only the rate can close the flood: on a
        // loaded machine the 200 messages can take longer than a short lifetime to arrive.
        try await LiveBroker.run(configure: {
            $0.limits.echoLifetime = .seconds(60)
            $0.limits.frameRate = RateLimit(perSecond: 10, burst: 10, sustainedSeconds: 1)
        }) { broker in
            let (echoed, floodClose) = try await webSocket(broker, path: TandemWire.echoPath) { inbound, outbound in
                for index in 0..<200 { try? await outbound.write(.text("flood \(index)")) }
                var echoed = 0
                do {
                    for try await message in inbound.messages(maxSize: 1 << 16) {
                        if case .text = message { echoed += 1 }
                    }
                } catch {}
                return ["\(echoed)"]
            }
            #expect(floodClose == 1008)
            // The burst came back; the flood beyond it did not.
            #expect((10...30).contains(Int(echoed.first ?? "") ?? -1))
        }
    }

    /// The status line a web page's upgrade request with `origin` gets.
    func upgradeStatus(_ broker: LiveBroker, origin: String) async throws -> String {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
            "interop/upgrade_status.py"
        ).path
        let child = try await ChildProcess.run(["python3", script, "127.0.0.1", String(broker.port), TandemWire.echoPath, origin, broker.caFile])
        return String(decoding: child.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The refusal comes from the broker's UpgradeGate, before hummingbird-websocket sees the request.
    @Test("a page from another origin is refused before the upgrade; the broker's own origin and configured ones pass")
    func origins() async throws {
        try await LiveBroker.run { broker in
            let status13280 = try await upgradeStatus(broker, origin: "https://evil.example")
            #expect(status13280 == "HTTP/1.1 403 Forbidden")
            let status69838 = try await upgradeStatus(broker, origin: "null")
            #expect(status69838 == "HTTP/1.1 403 Forbidden")
            let status65284 = try await upgradeStatus(broker, origin: "https://127.0.0.1:\(broker.port)")
            #expect(status65284 == "HTTP/1.1 101 Switching Protocols")
            // A WebSocket library (not a page) that fills in ws(s)://host is not checked.
            let (echoed, _) = try await webSocket(broker, path: TandemWire.echoPath) { inbound, outbound in
                try await outbound.write(.text("library"))
                var messages = inbound.messages(maxSize: 1 << 16).makeAsyncIterator()
                if case .text(let text) = try await messages.next() { return [text] }
                return []
            }
            #expect(echoed == ["library"])
        }
        try await LiveBroker.run(configure: { $0.allowedOrigins = ["https://support.example.com"] }) { broker in
            let status7934 = try await upgradeStatus(broker, origin: "https://support.example.com")
            #expect(status7934 == "HTTP/1.1 101 Switching Protocols")
            let status13280 = try await upgradeStatus(broker, origin: "https://evil.example")
            #expect(status13280 == "HTTP/1.1 403 Forbidden")
        }
    }

    @Test("more connections from one address than allowed get 429")
    func connectionsPerAddress() async throws {
        try await LiveBroker.run(configure: { $0.limits.anonymousWebSocketsPerNetwork = 2 }) { broker in
            let (release, releaseSink) = AsyncStream<Void>.makeStream()
            let (opened, openedSink) = AsyncStream<Void>.makeStream()
            let holders = (0..<2).map { _ in
                Task {
                    try await webSocket(broker, path: TandemWire.echoPath) { _, _ in
                        openedSink.yield()
                        for await _ in release {}
                        return []
                    }
                }
            }
            var iterator = opened.makeAsyncIterator()
            for _ in 0..<2 { await iterator.next() }
            await #expect(throws: (any Error).self) {
                _ = try await webSocket(broker, path: TandemWire.echoPath) { _, _ in [] }
            }
            let status = try await upgradeStatus(broker, origin: "https://127.0.0.1:\(broker.port)")
            #expect(status == "HTTP/1.1 429 Too Many Requests")
            releaseSink.finish()
            for holder in holders { _ = try await holder.value }
        }
    }

    @Test("a connection that sends no request in time is closed, over TCP and after the TLS handshake")
    func silentConnections() async throws {
        // 2 s: the deadline runs from the accept, and a loaded machine can take most of a
        // second for Python's TLS handshake alone.
        try await LiveBroker.run(configure: { $0.limits.firstRequestTimeout = .seconds(2) }) { broker in
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
                "interop/silent_connection.py"
            ).path
            for mode in ["tcp", "tls"] {
                let child = try await ChildProcess.run(["python3", script, "127.0.0.1", String(broker.port), mode, broker.caFile])
                let output = String(decoding: child.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(output.hasPrefix("closed after"), "\(mode): \(output) \(String(decoding: child.stderr, as: UTF8.self))")
            }
        }
    }

    @Test(
        "a burst over the control rate is dropped with an error and the session goes on; a sustained flood closes with 4429 and ends it as a protocol violation"
    )
    func rateLimit() async throws {
        try await LiveBroker.run(configure: { $0.limits.controlRate = RateLimit(perSecond: 10, burst: 20, sustainedSeconds: 5) }) { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let run = try await TandemConnection.run(
                configuration: broker.clientConfiguration,
                hello: .agent(token: alice, start: .init(ticket: "HD-RL", mode: .screen)),
                logger: logger
            ) { inbound, outbound -> [String] in
                var events = inbound.makeAsyncIterator()
                _ = try await events.nextControl()
                // 40 at once: 20 pass (the burst), 20 are dropped, well under 5 s of excess (50).
                for index in 0..<40 { try await outbound.send(.chat(Chat(text: "burst \(index)"))) }
                var seen: [String] = []
                // (Chat without a customer also gets its own error; only the rate's count here.)
                while let event = try await events.next() {
                    if case .control(.error(let error)) = event, error.code == "rate-limited" {
                        seen.append(error.code.rawValue)
                        break
                    }
                }
                // The connection is still open and usable after the burst: a flood now closes it.
                for index in 0..<400 { try await outbound.send(.chat(Chat(text: "flood \(index)"))) }
                while let event = try await events.next() {
                    if case .control(.error(let error)) = event, error.code == "rate-limited" { seen.append(error.code.rawValue) }
                }
                return seen
            }
            let codes = try #require(run.result)
            // One notice for the burst, then the refusal before the close.
            #expect(codes.count >= 2)
            #expect(run.closure.code == 4429)
            let record = try #require(try await broker.store.sessions(matching: SessionFilter(ticket: "HD-RL")).first)
            #expect(record.endReason == .protocolViolation)
        }
    }

    @Test("a connection with no traffic either way for the idle timeout is closed with 4413")
    func idle() async throws {
        try await LiveBroker.run(configure: { $0.limits.idleTimeout = .milliseconds(800) }) { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let waiting = try await broker.startWaitingAgent(token: alice, ticket: "HD-IDLE")
            let (_, closure) = try await waiting.ending.value
            #expect(closure.code == 4413)
        }
    }

    @Test("revoking a user ends that agent's live sessions")
    func revocation() async throws {
        try await LiveBroker.run(configure: {
            $0.sweepInterval = .milliseconds(100)
            $0.activityRecordInterval = .milliseconds(100)
        }) { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let waiting = try await broker.startWaitingAgent(token: alice, ticket: "HD-REV")
            #expect(try await broker.store.revokeUser(name: "alice", at: Date()))
            let (ended, _) = try await waiting.ending.value
            #expect(ended?.reason == .accessRevoked)
            #expect(try await broker.store.session(id: waiting.created.sessionID)?.endedBy == "broker")
            // Counted once the ending is logged (the dashboard's "sessions ended by reason").
            #expect(broker.statistics.metrics.exposition().contains(#"tandem_sessions_ended_total{reason="access-revoked"} 1"#))
        }
    }

    @Test("/metrics reports sessions, relayed frames, join failures, audit write latency and failed audit writes; /readyz says ready")
    func metrics() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let waiting = try await broker.startWaitingAgent(token: alice, ticket: "HD-M")
            _ = try await TandemConnection.run(configuration: broker.clientConfiguration, hello: .customer(code: "000-000-000-001"), logger: logger) {
                inbound,
                _ in
                var events = inbound.makeAsyncIterator()
                while try await events.next() != nil {}
            }
            let text = try await get(broker, "/metrics")
            #expect(text.contains(#"tandem_sessions{state="waiting"} 1"#))
            #expect(text.contains(#"tandem_join_failures_total{reason="unknown-code"} 1"#))
            #expect(text.contains("tandem_sessions_started_total 1"))
            #expect(text.contains("tandem_audit_write_seconds_bucket"))
            #expect(text.contains("tandem_relayed_frames_total"))
            #expect(!text.contains("HD-M") && !text.contains("alice"))
            #expect(try await get(broker, "/readyz") == "ready\n")
            // Committed writes are timed (the store reports to the metrics, as `serve` wires it).
            #expect((MetricsText(text: text).value("tandem_audit_write_seconds_count") ?? 0) >= 1)
            #expect(MetricsText(text: text).value("tandem_audit_write_errors_total") == 0)

            // The log refuses queue entries (a trigger, standing for a full disk or a broken
            // database): the customer is closed as on any broker failure, the write counted.
            let script = """
                import sqlite3, sys
                db = sqlite3.connect(sys.argv[1], timeout=10)
                db.execute("CREATE TRIGGER refuse_queue BEFORE INSERT ON audit_events WHEN NEW.kind = 'queue.entered' "
                           "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
                db.commit()
                db.close()
                """
            let installed = try await ChildProcess.run(["python3", "-c", script, broker.directory + "/tandem.sqlite"])
            #expect(installed.status == 0, "\(String(decoding: installed.stderr, as: UTF8.self))")
            let queued = LiveParticipant.connect(broker, hello: .queue(.init(ticket: "HD-M2", tier: .basic)))
            #expect(try await queued.closure.value.tandemCode == .internalError)
            let failed = try await MetricsText.fetch(broker)
            #expect(failed.value("tandem_audit_write_errors_total") == 1)
            #expect(failed.value("tandem_queue_waiting") == 0)
            _ = waiting
        }
    }

    func get(_ broker: LiveBroker, _ path: String) async throws -> String {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.additionalTrustRoots = [.file(broker.caFile)]
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        do {
            let response = try await client.execute(HTTPClientRequest(url: "https://localhost:\(broker.port)\(path)"), timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 1 << 20)
            try await client.shutdown()
            return String(buffer: body)
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}

/// A lock-protected slot for a result computed in a `@Sendable` closure.
final class NIOLockedValueBoxHolder: @unchecked Sendable {
    private let lock = NSLock()
    private var value: [String] = []
    func set(_ value: [String]) {
        lock.lock()
        self.value = value
        lock.unlock()
    }
    func get() -> [String] {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
}
