import Foundation
import Logging
import NIOConcurrencyHelpers
import TandemClient
import TandemCore
import TandemProtocol
import Testing

@Suite("Live TLS broker: reconnecting with a resume token", .timeLimit(.minutes(2)))
struct ResumeTests {
    let logger = Logger(label: "tandem.test.client")

    /// The agent's side: the session.created, then every control message until the end.
    final class AgentLog: Sendable {
        let created: NIOLockedValueBox<SessionCreated?> = .init(nil)
        let messages: NIOLockedValueBox<[ControlMessage]> = .init([])
        let (events, sink) = AsyncStream<ControlMessage>.makeStream()
    }

    func agent(
        _ broker: LiveBroker,
        token: String,
        log: AgentLog,
        outbound: NIOLockedValueBox<TandemOutbound?> = .init(nil)
    ) -> Task<TandemClosure, any Error> {
        Task {
            try await TandemConnection.run(
                configuration: broker.clientConfiguration,
                hello: .agent(token: token, start: .init(ticket: "HD-R", mode: .camera)),
                logger: logger
            ) { inbound, out in
                outbound.withLockedValue { $0 = out }
                for try await event in inbound {
                    guard case .control(let message) = event else { continue }
                    if case .sessionCreated(let created) = message { log.created.withLockedValue { $0 = created } }
                    log.messages.withLockedValue { $0.append(message) }
                    log.sink.yield(message)
                    if case .sessionEnded = message { break }
                }
                log.sink.finish()
            }.closure
        }
    }

    func next(_ iterator: inout AsyncStream<ControlMessage>.AsyncIterator, where match: (ControlMessage) -> Bool) async throws -> ControlMessage {
        while let message = await iterator.next() {
            if match(message) { return message }
        }
        throw TestFailure("the agent's connection ended first")
    }

    @Test("a customer that drops comes back with its token, gets the overlay it missed, and the log records the gap")
    func customerResumes() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let log = AgentLog()
            let agentOut = NIOLockedValueBox<TandemOutbound?>(nil)
            let agentRun = agent(broker, token: alice, log: log, outbound: agentOut)
            var agentEvents = log.events.makeAsyncIterator()
            guard case .sessionCreated(let created) = try await next(&agentEvents, where: { if case .sessionCreated = $0 { true } else { false } })
            else { return }
            #expect(created.resumeToken.map(ResumeToken.isWellFormed) == true)

            // First connection: join, consent, announce the camera, then drop (no session.end).
            let first = try await TandemConnection.run(
                configuration: broker.clientConfiguration,
                hello: .customer(code: created.joinCode),
                logger: logger
            ) { inbound, outbound -> SessionJoined? in
                var events = inbound.makeAsyncIterator()
                guard case .sessionJoined(let joined) = try await events.nextControl() else { return nil }
                try await outbound.send(.consent(Consent(granted: true)))
                try await outbound.send(.streamStart(StreamStart(streamID: 1, source: .camera, codec: .jpeg, width: 64, height: 48, fps: 5)))
                return joined
            }
            let joined = try #require(first.result ?? nil)
            let away = try await next(&agentEvents) { if case .peerAway = $0 { true } else { false } }
            guard case .peerAway(let presence) = away else { return }
            #expect(presence.role == .customer)
            #expect(presence.until.map { $0 > Date() } == true)

            // While the customer is away the agent draws on its stream; chat has nobody to go to.
            let outbound = try #require(agentOut.withLockedValue { $0 })
            try await outbound.send(
                .annotation(
                    .add(Shape(id: "port", kind: .arrow, color: "#ff3b30", points: [[0.2, 0.2], [0.6, 0.5]]), owner: .customer, streamID: 1)
                )
            )
            try await outbound.send(.chat(Chat(text: "are you there?")))
            _ = try await next(&agentEvents) { if case .error(let error) = $0 { error.code == "no-peer" } else { false } }

            // Second connection with the token: resumed, caught up, and frames flow again.
            let token = try #require(joined.resumeToken)
            async let second = TandemConnection.run(configuration: broker.clientConfiguration, hello: .resume(token, role: .customer), logger: logger)
            { inbound, outbound -> (SessionResumed?, [ControlMessage]) in
                var events = inbound.makeAsyncIterator()
                guard case .sessionResumed(let resumed) = try await events.nextControl() else { return (nil, []) }
                let caughtUp = [try await events.nextControl()]
                try await outbound.send(testFrame(stream: 1, sequence: 9, size: 1000, fill: 9))
                try await outbound.send(.chat(Chat(text: "back")))
                _ = try await events.untilEnded()
                return (resumed, caughtUp)
            }
            _ = try await next(&agentEvents) { if case .peerBack(let presence) = $0 { presence.role == .customer } else { false } }
            _ = try await next(&agentEvents) { $0 == .chat(Chat(text: "back", from: .customer)) }
            try await outbound.send(.sessionEnd(SessionEnd(outcome: .resolved)))
            _ = try await agentRun.value
            let (resumed, caughtUp) = try #require(try await second.result)
            let welcome = try #require(resumed)
            #expect(welcome.sessionID == created.sessionID)
            #expect(welcome.peerPresent)
            #expect(welcome.resumeToken != token)
            guard case .overlaySnapshot(let snapshot) = caughtUp.first else {
                Issue.record("no overlay snapshot after the resume: \(caughtUp)")
                return
            }
            #expect(snapshot.shapes.map(\.id) == ["port"])

            // A used token does not work twice.
            let again = try await TandemConnection.run(
                configuration: broker.clientConfiguration,
                hello: .resume(token, role: .customer),
                logger: logger
            ) { inbound, _ in
                for try await _ in inbound {}
            }
            #expect(again.closure.code == 4411)

            let record = try #require(try await broker.store.session(id: created.sessionID))
            #expect(record.endReason == .agentEnded)
            #expect(record.traffic.customerToAgent.frames == 1)
            let kinds = try await broker.store.events(sessionID: created.sessionID).map(\.kind)
            #expect(
                kinds == [
                    "session.created", "customer.joined", "consent.granted", "stream.started", "participant.disconnected",
                    "participant.reconnected", "session.ended",
                ]
            )
        }
    }

    @Test("without a resume within the grace period the session ends when the participant dropped")
    func graceExpires() async throws {
        try await LiveBroker.run(configure: { $0.reconnectGrace = .milliseconds(400) }) { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let waiting = try await broker.startWaitingAgent(token: alice, ticket: "HD-G")
            let run = try await TandemConnection.run(
                configuration: broker.clientConfiguration,
                hello: .customer(code: waiting.created.joinCode),
                logger: logger
            ) { inbound, _ -> String? in
                var events = inbound.makeAsyncIterator()
                guard case .sessionJoined(let joined) = try await events.nextControl() else { return nil }
                return joined.resumeToken
            }
            let ended = try await waiting.ending.value.0
            #expect(ended?.reason == .customerLeft)
            let record = try #require(try await broker.store.session(id: waiting.created.sessionID))
            // Ended at the drop (when the disconnection was logged), not at the end of the grace period.
            let events = try await broker.store.events(sessionID: waiting.created.sessionID)
            let dropped = try #require(events.first { $0.kind == "participant.disconnected" }?.at)
            #expect(abs(record.endedAt!.timeIntervalSince(dropped)) < 0.002)
            #expect(events.last?.kind == "session.ended")
            let late = try await TandemConnection.run(
                configuration: broker.clientConfiguration,
                hello: .resume(try #require(run.result ?? nil), role: .customer),
                logger: logger
            ) { inbound, _ in
                for try await _ in inbound {}
            }
            #expect(late.closure.code == 4411)
        }
    }

    @Test("a resume while the old connection still looks alive replaces it (4412)")
    func takeover() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let log = AgentLog()
            let agentOut = NIOLockedValueBox<TandemOutbound?>(nil)
            let agentRun = agent(broker, token: alice, log: log, outbound: agentOut)
            var agentEvents = log.events.makeAsyncIterator()
            guard case .sessionCreated(let created) = try await next(&agentEvents, where: { if case .sessionCreated = $0 { true } else { false } })
            else { return }
            let (tokens, tokenSink) = AsyncStream<String>.makeStream()
            async let first = TandemConnection.run(
                configuration: broker.clientConfiguration,
                hello: .customer(code: created.joinCode),
                logger: logger
            ) { inbound, _ in
                var events = inbound.makeAsyncIterator()
                guard case .sessionJoined(let joined) = try await events.nextControl(), let token = joined.resumeToken else { return }
                tokenSink.yield(token)
                while try await events.next() != nil {}
            }
            var tokenIterator = tokens.makeAsyncIterator()
            let token = try #require(await tokenIterator.next())
            let second = try await TandemConnection.run(
                configuration: broker.clientConfiguration,
                hello: .resume(token, role: .customer),
                logger: logger
            ) { inbound, outbound -> Bool in
                var events = inbound.makeAsyncIterator()
                guard case .sessionResumed = try await events.nextControl() else { return false }
                try await outbound.send(.sessionEnd(SessionEnd()))
                _ = try await events.untilEnded()
                return true
            }
            #expect(second.result == true)
            #expect(try await first.closure.code == 4412)
            _ = try await agentRun.value
            #expect(try await broker.store.session(id: created.sessionID)?.endReason == .customerLeft)
        }
    }

    @Test("the agent can drop and resume too, and gets the customer's streams back")
    func agentResumes() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let (createdStream, createdSink) = AsyncStream<SessionCreated>.makeStream()
            let firstAgent = Task {
                try await TandemConnection.run(
                    configuration: broker.clientConfiguration,
                    hello: .agent(token: alice, start: .init(ticket: "HD-A", mode: .camera)),
                    logger: logger
                ) { inbound, _ in
                    var events = inbound.makeAsyncIterator()
                    guard case .sessionCreated(let created) = try await events.nextControl() else { return }
                    createdSink.yield(created)
                    // Drop (no session.end) once the customer's stream is announced.
                    while let event = try await events.next() {
                        if case .control(.streamStart) = event { return }
                    }
                }
            }
            var createdIterator = createdStream.makeAsyncIterator()
            let created = try #require(await createdIterator.next())
            let customer = Task {
                try await TandemConnection.run(configuration: broker.clientConfiguration, hello: .customer(code: created.joinCode), logger: logger) {
                    inbound,
                    outbound -> [String] in
                    var events = inbound.makeAsyncIterator()
                    _ = try await events.nextControl()
                    try await outbound.send(.consent(Consent(granted: true)))
                    try await outbound.send(.streamStart(StreamStart(streamID: 1, source: .camera, codec: .jpeg, width: 64, height: 48, fps: 5)))
                    var seen: [String] = []
                    while let event = try await events.next() {
                        guard case .control(let message) = event else { continue }
                        seen.append(message.type)
                        if case .sessionEnded = message { break }
                    }
                    return seen
                }
            }
            _ = try await firstAgent.value
            let token = try #require(created.resumeToken)
            let resumed = try await TandemConnection.run(
                configuration: broker.clientConfiguration,
                hello: .resume(token, role: .agent),
                logger: logger
            ) { inbound, outbound -> (SessionResumed?, ControlMessage?) in
                var events = inbound.makeAsyncIterator()
                guard case .sessionResumed(let welcome) = try await events.nextControl() else { return (nil, nil) }
                let catchUp = try await events.nextControl()
                try await outbound.send(.sessionEnd(SessionEnd(outcome: .resolved, note: "after a reconnect")))
                _ = try await events.untilEnded()
                return (welcome, catchUp)
            }
            let (welcome, catchUp) = try #require(resumed.result)
            #expect(welcome?.role == .agent)
            #expect(welcome?.peerPresent == true)
            #expect(catchUp == .streamStart(StreamStart(streamID: 1, source: .camera, codec: .jpeg, width: 64, height: 48, fps: 5, owner: .customer)))
            #expect(try await customer.value.result == ["peer.away", "peer.back", "session.ended"])
            let record = try #require(try await broker.store.session(id: created.sessionID))
            #expect(record.outcome == .resolved)
            #expect(record.endedBy == "alice")
        }
    }

    @Test("a half-open connection (pings unanswered) is found within two ping intervals and the peer is told")
    func halfOpen() async throws {
        // 5 s: short enough for a test, long enough that a loaded machine (the whole suite
        // runs at once on two cores) still answers the pings of the live agent.
        try await LiveBroker.run(configure: { $0.pingInterval = .seconds(5) }) { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let log = AgentLog()
            let agentOut = NIOLockedValueBox<TandemOutbound?>(nil)
            let agentRun = agent(broker, token: alice, log: log, outbound: agentOut)
            var agentEvents = log.events.makeAsyncIterator()
            guard case .sessionCreated(let created) = try await next(&agentEvents, where: { if case .sessionCreated = $0 { true } else { false } })
            else { return }
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
                "interop/silent_customer.py"
            ).path
            let python = SpawnedProcess()
            python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            python.arguments = ["python3", script, "127.0.0.1", String(broker.port), created.joinCode, broker.caFile, "30"]
            python.standardOutput = FileHandle.nullDevice
            try python.run()
            defer { python.terminate() }
            do {
                _ = try await next(&agentEvents) { if case .peerJoined = $0 { true } else { false } }
            } catch {
                throw TestFailure("no peer.joined: \(log.messages.withLockedValue { $0 }), agent closed \(try await agentRun.value)")
            }
            let joinedAt = ContinuousClock.now
            do {
                _ = try await next(&agentEvents) { if case .peerAway(let presence) = $0 { presence.role == .customer } else { false } }
            } catch {
                throw TestFailure("no peer.away: \(log.messages.withLockedValue { $0.map(\.type) }), agent closed \(try await agentRun.value)")
            }
            // The second unanswered ping (≤ 2 intervals) closes it; the TLS teardown waits ≤ 1 s
            // for close_notify; plus slack for a loaded machine.
            #expect(ContinuousClock.now - joinedAt < .seconds(16))
            try await agentOut.withLockedValue { $0 }?.send(.sessionEnd(SessionEnd(outcome: .abandoned)))
            _ = try await agentRun.value
        }
    }
}
