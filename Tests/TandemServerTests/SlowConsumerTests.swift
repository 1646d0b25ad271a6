import Foundation
import Logging
import NIOCore
import TandemClient
import TandemCore
import TandemProtocol
import TandemServer
import Testing

@Suite("Live TLS broker: a receiver that stops reading", .timeLimit(.minutes(3)))
struct SlowConsumerTests {
    let logger = Logger(label: "tandem.test.client")

    @Test("30 fps × 200 KB to a stalled agent: queued bytes stay bounded, every annotation arrives in order, other sessions flow")
    func stalledReceiver() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let bob = try await broker.addUser("bob", role: .agent)
            let (codes, codeSink) = AsyncStream<String>.makeStream()
            let (stall, stallOver) = AsyncStream<Void>.makeStream()
            let logger = self.logger
            let annotationCount = 60
            let pushSeconds = 6.0

            // Alice's session: she stops reading while the customer pushes.
            async let agent = TandemConnection.run(
                configuration: broker.clientConfiguration,
                hello: .agent(token: alice, start: .init(ticket: "HD-SLOW", mode: .camera)),
                logger: logger
            ) { inbound, _ -> (annotations: [String], frames: Int, ended: SessionEnded?) in
                var events = inbound.makeAsyncIterator()
                guard case .sessionCreated(let created) = try await events.nextControl() else { return ([], 0, nil) }
                codeSink.yield(created.joinCode)
                _ = try await events.nextControl()  // peer.joined
                for await _ in stall {}  // not reading at all
                var annotations: [String] = []
                var frames = 0
                while let event = try await events.next() {
                    switch event {
                    case .control(.annotation(let annotation)): annotations.append(annotation.shape?.id ?? "?")
                    case .control(.sessionEnded(let ended)): return (annotations, frames, ended)
                    case .frame: frames += 1
                    default: break
                    }
                }
                return (annotations, frames, nil)
            }
            var codeIterator = codes.makeAsyncIterator()
            let code = try #require(await codeIterator.next())

            // Meanwhile another session pairs and relays normally.
            let other = Task {
                let waiting = try await broker.startWaitingAgent(token: bob, ticket: "HD-OTHER")
                let run = try await TandemConnection.run(
                    configuration: broker.clientConfiguration,
                    hello: .customer(code: waiting.created.joinCode),
                    logger: logger
                ) { inbound, outbound -> Int in
                    var events = inbound.makeAsyncIterator()
                    _ = try await events.nextControl()
                    for index in 0..<20 {
                        try await outbound.send(testFrame(stream: 1, sequence: UInt32(index), size: 10_000, fill: 1))
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    try await outbound.send(.sessionEnd(SessionEnd()))
                    _ = try await events.untilEnded()
                    return 20
                }
                return (run.result, try await waiting.ending.value.0)
            }

            let customer = try await TandemConnection.run(configuration: broker.clientConfiguration, hello: .customer(code: code), logger: logger) {
                inbound,
                outbound -> Int in
                var events = inbound.makeAsyncIterator()
                _ = try await events.nextControl()
                try await outbound.send(.consent(Consent(granted: true)))
                // Annotations need a started stream (§5.10).
                try await outbound.send(.streamStart(StreamStart(streamID: 1, source: .camera, codec: .jpeg, width: 640, height: 480, fps: 30)))
                let frames = Int(pushSeconds * 30)
                let payload = ByteBuffer(repeating: 0xEE, count: 200_000)
                let clock = ContinuousClock()
                let start = clock.now
                for index in 0..<frames {
                    let frame = MediaFrame(streamID: 1, sequence: UInt32(index), codec: .jpeg, keyframe: true, timestampMicros: 0, payload: payload)
                    try await outbound.send(frame)
                    if index % 3 == 0, index / 3 < annotationCount {
                        try await outbound.send(
                            .annotation(
                                .add(Shape(id: "a\(index / 3)", kind: .arrow, points: [[0.1, 0.1], [0.2, 0.2]]), owner: .customer, streamID: 1)
                            )
                        )
                    }
                    try await clock.sleep(until: start.advanced(by: .milliseconds(33 * (index + 1))))
                }
                stallOver.finish()
                try await outbound.send(.sessionEnd(SessionEnd()))
                _ = try await events.untilEnded()
                return frames
            }
            let sent = try #require(customer.result)
            let seen = try await agent.result
            let (otherFrames, otherEnded) = try await other.value

            #expect(otherFrames == 20)
            #expect(otherEnded?.reason == .customerLeft)
            #expect(seen?.annotations == (0..<annotationCount).map { "a\($0)" })
            let received = seen?.frames ?? 0
            #expect(received < sent)
            let sessions = try await broker.store.sessions(matching: SessionFilter(ticket: "HD-SLOW"))
            let stream = try #require(sessions.first?.streams.first)
            #expect(stream.framesRelayed == Int64(sent))
            #expect(stream.framesDropped > 0)
            // What the stalled agent got plus what was dropped for it accounts for every frame.
            #expect(Int64(received) + stream.framesDropped == Int64(sent))
            // 36 MB were pushed. The broker never held more than its bounded queues: 8 frames of
            // 200 KB for the stalled agent, plus the other session's small frames.
            let bound = 8 * (200_000 + MediaFrameHeader.size) + 8 * (10_000 + MediaFrameHeader.size)
            #expect(broker.statistics.peakQueuedMediaBytes > 0)
            #expect(broker.statistics.peakQueuedMediaBytes <= bound)
            #expect(broker.statistics.queuedMediaBytes == 0)
            #expect(broker.statistics.framesDropped >= Int(stream.framesDropped))
        }
    }

    @Test("a receiver whose control queue passes the hard limit is disconnected with 4503 and the ending says why")
    func controlOverflow() async throws {
        // The sender's rate limit is lifted: this test is about the receiver.
        try await LiveBroker.run(configure: {
            $0.controlQueueCapacity = 16
            $0.limits.controlRate = RateLimit(perSecond: 100_000, burst: 100_000)
        }) { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let (codes, codeSink) = AsyncStream<String>.makeStream()
            let (stall, stallOver) = AsyncStream<Void>.makeStream()
            let logger = self.logger
            async let agent = TandemConnection.run(
                configuration: broker.clientConfiguration,
                hello: .agent(token: alice, start: .init(ticket: "HD-STALL", mode: .camera)),
                logger: logger
            ) { inbound, _ -> Void in
                var events = inbound.makeAsyncIterator()
                guard case .sessionCreated(let created) = try await events.nextControl() else { return }
                codeSink.yield(created.joinCode)
                for await _ in stall {}
                while try await events.next() != nil {}
            }
            var codeIterator = codes.makeAsyncIterator()
            let code = try #require(await codeIterator.next())
            let customer = try await TandemConnection.run(configuration: broker.clientConfiguration, hello: .customer(code: code), logger: logger) {
                inbound,
                outbound -> SessionEnded? in
                var events = inbound.makeAsyncIterator()
                _ = try await events.nextControl()
                let text = String(repeating: "z", count: Chat.maxLength)
                // About 16 MB of chat: more than the socket buffers and the 16-message queue hold.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for _ in 0..<4_000 { try await outbound.send(.chat(Chat(text: text))) }
                    }
                    _ = try? await group.next()
                }
                let ended = try await events.untilEnded()
                stallOver.finish()
                return ended
            }
            // Whatever the customer saw, the agent stops stalling (a failure must not hang the test).
            stallOver.finish()
            let ended = try #require(customer.result ?? nil)
            #expect(ended.reason == .slowConsumer)
            // The agent is cut off: it gets the 4503 close when the broker's blocked write got
            // through before the 2-second grace ended, else its connection is simply cut (a
            // receiver that does not read cannot be made to read the close frame): no close
            // frame at all, after TLS's close_notify when that still got through (the agent
            // reads again once the customer's run is over), or an unclean TLS shutdown.
            do {
                let agentRun = try await agent
                #expect([4503, nil].contains(agentRun.closure.code), "\(agentRun.closure)")
            } catch {
                #expect(String(describing: error).contains("uncleanShutdown"), "\(error)")
            }
            let record = try #require(try await broker.store.session(id: ended.sessionID))
            #expect(record.endReason == .slowConsumer)
        }
    }
}
