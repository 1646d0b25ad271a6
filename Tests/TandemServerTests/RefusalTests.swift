import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import NIOSSL
import NIOWebSocket
import TandemClient
import TandemCore
import TandemProtocol
import Testing

@Suite("Live TLS broker: every refusal gets its documented close code", .timeLimit(.minutes(2)))
struct RefusalTests {
    let logger = Logger(label: "tandem.test.client")

    /// Connects, sends `hello`, reads until the broker closes; returns the close and any error messages.
    func attempt(_ broker: LiveBroker, _ hello: Hello) async throws -> (TandemClosure, [ErrorMessage]) {
        let run = try await TandemConnection.run(configuration: broker.clientConfiguration, hello: hello, logger: logger) {
            inbound,
            _ -> [ErrorMessage] in
            var errors: [ErrorMessage] = []
            for try await event in inbound {
                if case .control(.error(let error)) = event { errors.append(error) }
            }
            return errors
        }
        return (run.closure, run.result ?? [])
    }

    /// Connects without the Tandem client and sends `first` (or nothing) as the first message.
    func rawAttempt(_ broker: LiveBroker, first: WebSocketOutboundWriter.OutboundFrame?) async throws -> UInt16? {
        try await rawAttempt(broker, frames: first.map { [$0] } ?? [])
    }

    /// Connects without the Tandem client, sends `frames` and returns the text messages the
    /// broker sent and its close code.
    func rawExchange(_ broker: LiveBroker, frames: [WebSocketOutboundWriter.OutboundFrame]) async throws -> ([String], UInt16?) {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.additionalTrustRoots = [.file(broker.caFile)]
        var configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 20)
        configuration.sniHostname = "localhost"
        let texts = NIOLockedValueBoxHolder()
        let close = try await WebSocketClient.connect(
            url: "wss://127.0.0.1:\(broker.port)\(TandemWire.webSocketPath)",
            configuration: configuration,
            tlsConfiguration: tls,
            logger: logger
        ) { inbound, outbound, _ in
            for frame in frames { try await outbound.write(frame) }
            var seen: [String] = []
            for try await message in inbound.messages(maxSize: 1 << 20) {
                if case .text(let text) = message { seen.append(text) }
            }
            texts.set(seen)
        }
        return (texts.get(), close.map { UInt16(webSocketErrorCode: $0.closeCode) })
    }

    /// Connects without the Tandem client, sends `frames` and reads until the broker closes.
    func rawAttempt(_ broker: LiveBroker, frames: [WebSocketOutboundWriter.OutboundFrame]) async throws -> UInt16? {
        try await rawExchange(broker, frames: frames).1
    }

    /// Opens a session as `token` and hands its join code to `body` while the agent stays connected.
    func withSession<T: Sendable>(
        _ broker: LiveBroker,
        token: String,
        ttl: Int? = nil,
        _ body: @escaping @Sendable (String) async throws -> T
    ) async throws -> (T, SessionEnded?) {
        let (codes, codeSink) = AsyncStream<String>.makeStream()
        let (done, doneSink) = AsyncStream<Void>.makeStream()
        let logger = self.logger
        async let agent = TandemConnection.run(
            configuration: broker.clientConfiguration,
            hello: .agent(token: token, start: .init(ticket: "HD-9", mode: .screen, ttlSeconds: ttl)),
            logger: logger
        ) { inbound, outbound -> SessionEnded? in
            var events = inbound.makeAsyncIterator()
            guard case .sessionCreated(let created) = try await events.nextControl() else { return nil }
            codeSink.yield(created.joinCode)
            var ended: SessionEnded?
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in done {}
                    try await outbound.send(.sessionEnd(SessionEnd(outcome: .abandoned)))
                }
                ended = try await events.untilEnded()
                group.cancelAll()
            }
            return ended
        }
        var iterator = codes.makeAsyncIterator()
        let code = try #require(await iterator.next())
        let result = try await body(code)
        doneSink.finish()
        return (result, try await agent.result ?? nil)
    }

    @Test("a wrong code gets 4404 and the error message names it")
    func unknownCode() async throws {
        try await LiveBroker.run { broker in
            let token = try await broker.addUser("alice", role: .agent)
            _ = try await withSession(broker, token: token) { code in
                let digits = JoinCodeFormat.normalize(code)!
                let wrong = String((Int(digits)! + 1) % 1_000_000_000_000)
                let (closure, errors) = try await attempt(broker, .customer(code: String(repeating: "0", count: 12 - wrong.count) + wrong))
                #expect(closure.code == 4404)
                #expect(errors.map(\.code) == ["unknown-code"])
                let (malformed, _) = try await attempt(broker, .customer(code: "12-34"))
                #expect(malformed.code == 4404)
            }
        }
    }

    @Test("a reused code gets 4409 and does not disturb the live session")
    func reusedCode() async throws {
        try await LiveBroker.run { broker in
            let token = try await broker.addUser("alice", role: .agent)
            let (second, ended) = try await withSession(broker, token: token) { code in
                let (firstJoined, firstOut) = AsyncStream<Void>.makeStream()
                let (release, releaseSink) = AsyncStream<Void>.makeStream()
                async let first = TandemConnection.run(configuration: broker.clientConfiguration, hello: .customer(code: code), logger: logger) {
                    inbound,
                    _ in
                    var events = inbound.makeAsyncIterator()
                    _ = try await events.nextControl()
                    firstOut.finish()
                    for await _ in release {}
                }
                for await _ in firstJoined {}
                let (closure, _) = try await attempt(broker, .customer(code: code))
                releaseSink.finish()
                _ = try await first
                return closure
            }
            #expect(second.code == 4409)
            // The refused attempt did not touch the session; the first customer's disconnect
            // (without session.end) only made it away, so the agent ended the session.
            #expect(ended?.reason == .agentEnded)
        }
    }

    @Test("an expired code gets 4410 and the waiting session ends as expired")
    func expiredCode() async throws {
        try await LiveBroker.run(configure: { $0.sweepInterval = .milliseconds(100) }) { broker in
            let token = try await broker.addUser("alice", role: .agent)
            let agent = try await broker.startWaitingAgent(token: token, ticket: "HD-9", ttlSeconds: 1)
            let code = agent.created.joinCode
            let ended = try #require(try await agent.ending.value.0)
            #expect(ended.reason == .expired)
            let (closure, _) = try await attempt(broker, .customer(code: code))
            #expect(closure.code == 4410)
            let record = try #require(try await broker.store.session(id: ended.sessionID))
            #expect(record.endReason == .expired)
            #expect(record.customerJoinedAt == nil)
        }
    }

    @Test("bad, revoked and unauthorised tokens get 4401 or 4403")
    func tokens() async throws {
        try await LiveBroker.run { broker in
            let start = Hello.Start(ticket: "HD-1", mode: .camera)
            #expect(try await attempt(broker, .agent(token: "tdm_" + String(repeating: "x", count: 43), start: start)).0.code == 4401)
            #expect(try await attempt(broker, .agent(token: "not-a-token", start: start)).0.code == 4401)
            #expect(try await attempt(broker, Hello(role: .agent, start: start)).0.code == 4401)
            let revoked = try await broker.addUser("mallory", role: .agent)
            _ = try await broker.store.revokeUser(name: "mallory", at: Date())
            #expect(try await attempt(broker, .agent(token: revoked, start: start)).0.code == 4401)
            let auditor = try await broker.addUser("audrey", role: .auditor)
            #expect(try await attempt(broker, .agent(token: auditor, start: start)).0.code == 4403)
            let agent = try await broker.addUser("alice", role: .agent)
            #expect(try await attempt(broker, .agent(token: agent, start: .init(ticket: "HD 1", mode: .camera))).0.code == 4400)
            #expect(try await attempt(broker, Hello(role: .agent, token: agent)).0.code == 4400)
            #expect(try await attempt(broker, Hello(protocolVersion: 2, role: .agent, token: agent, start: start)).0.code == 4426)
            // None of these left a session in the log.
            #expect(try await broker.store.sessions(matching: SessionFilter()).isEmpty)
        }
    }

    @Test("garbage, a non-hello or binary first message get 4400")
    func garbage() async throws {
        try await LiveBroker.run { broker in
            let notJSON = try await rawAttempt(broker, first: .text("GET / HTTP/1.1"))
            #expect(notJSON == 4400)
            let notHello = try await rawAttempt(broker, first: .text(#"{"type":"chat","text":"hi"}"#))
            #expect(notHello == 4400)
            let binary = try await rawAttempt(broker, first: .binary(testFrame(stream: 1, sequence: 1, size: 10, fill: 1).encoded()))
            #expect(binary == 4400)
        }
    }

    @Test("a connection that never says hello gets error hello-timeout, then 4408")
    func silent() async throws {
        try await LiveBroker.run(configure: { $0.limits.helloTimeout = .milliseconds(300) }) { broker in
            let (messages, close) = try await rawExchange(broker, frames: [])
            #expect(close == 4408)
            let errors = messages.compactMap { text -> ErrorMessage? in
                if case .error(let error) = try? ControlMessage.decode(text: text) { error } else { nil }
            }
            #expect(errors.map(\.code) == ["hello-timeout"])
        }
    }

    @Test("a hello sent in time is answered, not refused as late, when the broker takes longer than the hello timeout to handle it")
    func slowHandling() async throws {
        try await LiveBroker.run(configure: { $0.limits.helloTimeout = .seconds(1) }) { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            // Another process holds the database's write lock for 3 s (under the store's 5 s
            // busy timeout): the agent's hello (session.created is logged first) waits for it,
            // well past the 1 s.
            let marker = broker.directory + "/locked"
            let holder = SpawnedProcess()
            holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            holder.arguments = [
                "python3", "-c",
                """
                import sqlite3, sys, time
                db = sqlite3.connect(sys.argv[1], isolation_level=None)
                db.execute("BEGIN EXCLUSIVE")
                open(sys.argv[2], "w").close()
                time.sleep(3)
                db.execute("COMMIT")
                """,
                broker.directory + "/tandem.sqlite", marker,
            ]
            try holder.run()
            defer { holder.terminate() }
            for _ in 0..<1500 where !FileManager.default.fileExists(atPath: marker) { try await Task.sleep(for: .milliseconds(20)) }
            try #require(FileManager.default.fileExists(atPath: marker), "the lock holder did not start")
            let agent = LiveParticipant.connect(broker, hello: .agent(token: alice, start: .init(ticket: "HD-SLOW", mode: .screen)))
            let created = try await agent.waitFor("session.created, however late") { message -> SessionCreated? in
                if case .sessionCreated(let created) = message { created } else { nil }
            }
            #expect(created.ticket == "HD-SLOW")
            #expect(!agent.messages.contains { if case .error(let e) = $0 { e.code == .helloTimeout } else { false } })
            await holder.waitForExit()
            #expect(holder.terminationStatus == 0)
        }
    }

    @Test("after the welcome, a message over the size limit is closed with 1009 and ends the session as a protocol violation")
    func tooBig() async throws {
        try await LiveBroker.run(configure: { $0.limits.maxMessageSize = 128 << 10 }) { broker in
            let token = try await broker.addUser("alice", role: .agent)
            let agent = try await broker.startWaitingAgent(token: token, ticket: "HD-BIG")
            // Above the hello limit (64 KiB) is fine once welcomed; above the message limit is not.
            let run = try await TandemConnection.run(
                configuration: broker.clientConfiguration,
                hello: .customer(code: agent.created.joinCode),
                logger: logger
            ) { inbound, outbound in
                var events = inbound.makeAsyncIterator()
                while let event = try await events.next() {
                    if case .control(.sessionJoined) = event { break }
                }
                try await outbound.send(testFrame(stream: 1, sequence: 1, size: 200 << 10, fill: 1))
                while try await events.next() != nil {}
            }
            let closed = run.closure.code
            #expect(closed == 1009)
            let (ended, _) = try await agent.ending.value
            #expect(ended?.reason == .protocolViolation)
        }
    }

    @Test("text that is not UTF-8 closes with 1007 from the WebSocket library and ends the session as a protocol violation")
    func invalidUTF8() async throws {
        try await LiveBroker.run { broker in
            let token = try await broker.addUser("alice", role: .agent)
            let agent = try await broker.startWaitingAgent(token: token, ticket: "HD-U8")
            let hello = ControlMessage.hello(.customer(code: agent.created.joinCode)).jsonText
            let broken = WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: [0x7b, 0xff, 0xfe, 0x7d]))
            let closed = try await rawAttempt(broker, frames: [.text(hello), .custom(broken)])
            #expect(closed == 1007)
            let (ended, _) = try await agent.ending.value
            #expect(ended?.reason == .protocolViolation)
        }
    }
}
