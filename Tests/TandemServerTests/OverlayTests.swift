import Foundation
import Logging
import NIOCore
import TandemClient
import TandemCore
import TandemProtocol
import Testing

@Suite("Live TLS broker: streams, annotations, freeze-frame, snapshots", .timeLimit(.minutes(2)))
struct OverlayTests {
    let logger = Logger(label: "tandem.test.client")

    func arrow(_ id: String, owner: ParticipantRole = .customer, stream: UInt16 = 1) -> Annotation {
        .add(Shape(id: id, kind: .arrow, points: [[0.2, 0.2], [0.4, 0.5]]), owner: owner, streamID: stream)
    }

    @Test("annotations, stream announcements and requests flow both ways and are counted in the log")
    func roundTrip() async throws {
        try await LiveBroker.run { broker in
            let token = try await broker.addUser("alice", role: .agent)
            let (codes, codeSink) = AsyncStream<String>.makeStream()
            let logger = self.logger
            async let agent = TandemConnection.run(
                configuration: broker.clientConfiguration,
                hello: .agent(token: token, start: .init(ticket: "HD-AR", mode: .camera)),
                logger: logger
            ) { inbound, outbound -> [ControlMessage] in
                var events = inbound.makeAsyncIterator()
                guard case .sessionCreated(let created) = try await events.nextControl() else { return [] }
                codeSink.yield(created.joinCode)
                _ = try await events.nextControl()  // peer.joined
                var seen: [ControlMessage] = []
                // The customer's consent and stream.start, then its stroke (add + append).
                while seen.count < 4, let event = try await events.next() {
                    if case .control(let message) = event { seen.append(message) }
                }
                try await outbound.send(.annotation(arrow("agent-arrow")))
                try await outbound.send(.freeze(Freeze(owner: .customer, streamID: 1, sequence: 12)))
                try await outbound.send(.streamControl(StreamControl(streamID: 1, action: .quality, fps: 5, quality: 0.5)))
                while let event = try await events.next() {
                    if case .control(let message) = event { seen.append(message) }
                    if case .control(.sessionEnded) = event { break }
                }
                return seen
            }
            var codeIterator = codes.makeAsyncIterator()
            let code = try #require(await codeIterator.next())
            let customer = try await TandemConnection.run(configuration: broker.clientConfiguration, hello: .customer(code: code), logger: logger) {
                inbound,
                outbound -> [ControlMessage] in
                var events = inbound.makeAsyncIterator()
                _ = try await events.nextControl()  // session.joined
                try await outbound.send(.consent(Consent(granted: true)))
                try await outbound.send(.streamStart(StreamStart(streamID: 1, source: .camera, codec: .jpeg, width: 640, height: 480, fps: 15)))
                try await outbound.send(
                    .annotation(.add(Shape(id: "c-stroke", kind: .stroke, color: "#00aaff", points: [[0.1, 0.1]]), owner: .customer, streamID: 1))
                )
                try await outbound.send(.annotation(Annotation(op: .append, owner: .customer, streamID: 1, id: "c-stroke", points: [[0.2, 0.2]])))
                var seen: [ControlMessage] = []
                while seen.count < 3, let event = try await events.next() {
                    if case .control(let message) = event { seen.append(message) }
                }
                try await outbound.send(.chat(Chat(text: "done")))
                try await outbound.send(.sessionEnd(SessionEnd()))
                _ = try await events.untilEnded()
                return seen
            }
            let agentSeen = try await agent.result ?? []
            let customerSeen = try #require(customer.result)
            #expect(agentSeen.count >= 6)
            #expect(agentSeen.first == .consent(Consent(granted: true)))
            #expect(
                agentSeen.dropFirst().first
                    == .streamStart(StreamStart(streamID: 1, source: .camera, codec: .jpeg, width: 640, height: 480, fps: 15, owner: .customer))
            )
            guard agentSeen.count >= 4, case .annotation(let stroke) = agentSeen[2], case .annotation(let append) = agentSeen[3] else {
                Issue.record("agent did not get the stroke: \(agentSeen)")
                return
            }
            #expect(stroke.shape?.author == .customer)
            #expect(stroke.author == .customer)
            #expect(append.points == [[0.2, 0.2]])
            #expect(agentSeen.contains(.chat(Chat(text: "done", from: .customer))))
            #expect(customerSeen.count == 3)
            guard customerSeen.count == 3, case .annotation(let relayed) = customerSeen[0] else { return }
            #expect(relayed.shape?.id == "agent-arrow")
            #expect(relayed.shape?.author == .agent)
            #expect(customerSeen[1] == .freeze(Freeze(owner: .customer, streamID: 1, sequence: 12, author: .agent)))
            #expect(customerSeen[2] == .streamControl(StreamControl(streamID: 1, action: .quality, fps: 5, quality: 0.5, origin: .agent)))

            let sessions = try await broker.store.sessions(matching: SessionFilter(ticket: "HD-AR"))
            let record = try #require(sessions.first)
            #expect(record.annotations == 3)
            #expect(record.freezes == 1)
            #expect(record.chatMessages == 1)
            #expect(record.streams == [StreamStats(owner: .customer, streamID: 1, source: .camera, codec: .jpeg)])
            // The timeline has consent, the stream and the freeze, each before the end.
            let kinds = try await broker.store.events(sessionID: record.id).map(\.kind)
            #expect(kinds == ["session.created", "customer.joined", "consent.granted", "stream.started", "freeze.started", "session.ended"])
        }
    }

    @Test("a customer who joins gets the agent's streams and the overlay snapshot, with its freeze, before live updates")
    func snapshotOnJoin() async throws {
        try await LiveBroker.run { broker in
            let token = try await broker.addUser("alice", role: .agent)
            let (codes, codeSink) = AsyncStream<String>.makeStream()
            let (finished, finishedSink) = AsyncStream<Void>.makeStream()
            let logger = self.logger
            async let agent = TandemConnection.run(
                configuration: broker.clientConfiguration,
                hello: .agent(token: token, start: .init(ticket: "HD-SNAP", mode: .screen)),
                logger: logger
            ) { inbound, outbound -> [ControlMessage] in
                var events = inbound.makeAsyncIterator()
                guard case .sessionCreated(let created) = try await events.nextControl() else { return [] }
                // Prepared before the customer arrives: the agent's own screen streams 7, with
                // a rectangle, and 8, with an arrow and a freeze. The customer's stream 1 does
                // not exist yet: an arrow on it is refused and not kept (§5.10).
                try await outbound.send(.streamStart(StreamStart(streamID: 7, source: .screen, codec: .png, width: 800, height: 600, fps: 2)))
                try await outbound.send(.streamStart(StreamStart(streamID: 8, source: .screen, codec: .png, width: 800, height: 600, fps: 2)))
                try await outbound.send(
                    .annotation(.add(Shape(id: "r", kind: .rect, points: [[0.1, 0.1], [0.3, 0.3]]), owner: .agent, streamID: 7))
                )
                try await outbound.send(.annotation(arrow("a1", owner: .agent, stream: 8)))
                try await outbound.send(.annotation(arrow("gone", owner: .agent, stream: 8)))
                try await outbound.send(.annotation(Annotation(op: .undo, owner: .agent, streamID: 8)))
                try await outbound.send(.freeze(Freeze(owner: .agent, streamID: 8, sequence: 99)))
                try await outbound.send(.annotation(arrow("unannounced")))
                // Wait until the broker applied them: a chat with nobody there is refused after them, in order.
                try await outbound.send(.chat(Chat(text: "ping")))
                var errors: [String] = []
                while errors.count < 2, let event = try await events.next() {
                    if case .control(.error(let error)) = event { errors.append(error.code.rawValue) }
                }
                guard errors == ["unknown-stream", "no-peer"] else { throw TestFailure("expected unknown-stream then no-peer, got \(errors)") }
                codeSink.yield(created.joinCode)
                _ = try await events.nextControl()  // peer.joined
                try await outbound.send(.annotation(arrow("live", owner: .agent, stream: 7)))
                for await _ in finished {}
                try await outbound.send(.sessionEnd(SessionEnd(outcome: .resolved)))
                _ = try await events.untilEnded()
                return []
            }
            var codeIterator = codes.makeAsyncIterator()
            let code = try #require(await codeIterator.next())
            let customer = try await TandemConnection.run(configuration: broker.clientConfiguration, hello: .customer(code: code), logger: logger) {
                inbound,
                _ -> [ControlMessage] in
                var events = inbound.makeAsyncIterator()
                var seen: [ControlMessage] = []
                while seen.count < 6, let event = try await events.next() {
                    if case .control(let message) = event { seen.append(message) }
                }
                finishedSink.finish()
                _ = try await events.untilEnded()
                return seen
            }
            _ = try await agent
            let seen = try #require(customer.result)
            #expect(seen.count == 6)
            guard seen.count == 6 else { return }
            guard case .sessionJoined = seen[0] else {
                Issue.record("welcome first, got \(seen[0])")
                return
            }
            #expect(seen[1] == .streamStart(StreamStart(streamID: 7, source: .screen, codec: .png, width: 800, height: 600, fps: 2, owner: .agent)))
            #expect(seen[2] == .streamStart(StreamStart(streamID: 8, source: .screen, codec: .png, width: 800, height: 600, fps: 2, owner: .agent)))
            guard case .overlaySnapshot(let rectangle) = seen[3], case .overlaySnapshot(let frozen) = seen[4] else {
                Issue.record("expected two snapshots, got \(seen)")
                return
            }
            #expect(rectangle.owner == .agent && rectangle.streamID == 7)
            #expect(rectangle.shapes.map(\.id) == ["r"])
            #expect(frozen.owner == .agent && frozen.streamID == 8)
            #expect(frozen.shapes.map(\.id) == ["a1"])
            #expect(frozen.frozenSequence == 99)
            guard case .annotation(let live) = seen[5] else {
                Issue.record("then the live annotation, got \(seen[5])")
                return
            }
            #expect(live.shape?.id == "live")
        }
    }
}

@Suite("Swift client: typed streams", .timeLimit(.minutes(2)))
struct TypedStreamTests {
    @Test("split() gives the agent typed streams of frames, annotations and control events")
    func split() async throws {
        try await LiveBroker.run { broker in
            let token = try await broker.addUser("alice", role: .agent)
            let (codes, codeSink) = AsyncStream<String>.makeStream()
            let logger = Logger(label: "tandem.test.client")
            async let agent = TandemConnection.run(
                configuration: broker.clientConfiguration,
                hello: .agent(token: token, start: .init(ticket: "HD-TYPED", mode: .camera)),
                logger: logger
            ) { inbound, outbound -> (frames: [UInt32], annotations: [String], control: [String]) in
                let streams = inbound.split()
                return try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await streams.pump() }
                    async let frames = {
                        var sequences: [UInt32] = []
                        for await frame in streams.frames {
                            sequences.append(frame.header.sequence)
                            if sequences.count == 3 { try? await outbound.send(.chat(Chat(text: "got them"))) }
                        }
                        return sequences
                    }()
                    async let annotations = streams.annotations.reduce(into: [String]()) { $0.append($1.shape?.id ?? "") }
                    var control: [String] = []
                    for await message in streams.controlEvents {
                        control.append(message.type)
                        if case .sessionCreated(let created) = message { codeSink.yield(created.joinCode) }
                    }
                    try await group.waitForAll()
                    return (await frames, await annotations, control)
                }
            }
            var iterator = codes.makeAsyncIterator()
            let code = try #require(await iterator.next())
            _ = try await TandemConnection.run(configuration: broker.clientConfiguration, hello: .customer(code: code), logger: logger) {
                inbound,
                outbound in
                var events = inbound.makeAsyncIterator()
                _ = try await events.nextControl()
                try await outbound.send(.consent(Consent(granted: true)))
                try await outbound.send(.streamStart(StreamStart(streamID: 1, source: .camera, codec: .jpeg, width: 10, height: 10, fps: 1)))
                for index in 0..<3 {
                    try await outbound.send(testFrame(stream: 1, sequence: UInt32(index), size: 100, fill: 1))
                    try await outbound.send(
                        .annotation(.add(Shape(id: "a\(index)", kind: .arrow, points: [[0, 0], [1, 1]]), owner: .customer, streamID: 1))
                    )
                }
                // Leave only once the agent has the frames (frames still queued at the end are dropped).
                while let event = try await events.next() {
                    if case .control(.chat) = event { break }
                }
                try await outbound.send(.sessionEnd(SessionEnd()))
                _ = try await events.untilEnded()
            }
            let seen = try #require(try await agent.result)
            #expect(seen.frames == [0, 1, 2])
            #expect(seen.annotations == ["a0", "a1", "a2"])
            #expect(seen.control == ["session.created", "peer.joined", "consent", "stream.start", "session.ended"])
        }
    }
}
