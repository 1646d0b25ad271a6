import Foundation
import Logging
import TandemClient
import TandemCore
import TandemProtocol
import TandemSQLite
import TandemServer
import Testing

/// Issue 13: a participant cannot make the broker keep unbounded annotations, nor make a
/// catch-up that breaks the control message limits (protocol/README.md §5.10).
@Suite("Live TLS broker: overlay memory is bounded", .timeLimit(.minutes(3)))
struct OverlayMemoryTests {
    /// The most points a shape may have, written as short as JSON allows: about 60 KB a
    /// message, under the 64 KiB control limit; ~670 KB a shape when kept as `[[Double]]`.
    static let points = Array(repeating: [0.0, 1.0], count: Shape.maxPoints)

    static func stroke(_ id: String, owner: ParticipantRole, stream: UInt16) -> ControlMessage {
        .annotation(.add(Shape(id: id, kind: .stroke, points: points), owner: owner, streamID: stream))
    }

    static let camera = StreamStart(streamID: 1, source: .camera, codec: .jpeg, width: 640, height: 480, fps: 10)

    /// Errors with `code` the participant received.
    static func errors(_ participant: LiveParticipant, _ code: String) -> Int {
        participant.messages.filter { if case .error(let error) = $0 { error.code.rawValue == code } else { false } }.count
    }

    static func annotations(_ participant: LiveParticipant) -> Int {
        participant.messages.filter { if case .annotation = $0 { true } else { false } }.count
    }

    /// Waits (at most `seconds`) until `done` holds.
    static func waitUntil(_ what: String, seconds: Double = 30, _ done: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !done() {
            guard Date() < deadline else { throw TestFailure("not within \(Int(seconds)) s: \(what)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// An agent's session with a customer who joined and agreed to share.
    static func pair(_ broker: LiveBroker, ticket: String) async throws -> (agent: LiveParticipant, customer: LiveParticipant, joined: SessionJoined)
    {
        let alice = try await broker.addUser("alice", role: .agent)
        let agent = LiveParticipant.connect(broker, hello: .agent(token: alice, start: .init(ticket: ticket, mode: .camera)))
        let created = try await agent.waitFor("session.created") { if case .sessionCreated(let created) = $0 { created } else { nil } }
        let customer = LiveParticipant.connect(broker, hello: .customer(code: created.joinCode))
        let joined = try await customer.waitFor("session.joined") { if case .sessionJoined(let joined) = $0 { joined } else { nil } }
        try await customer.send(.consent(Consent(granted: true)))
        try await agent.waitFor("consent") { if case .consent = $0 { true } else { nil } }
        return (agent, customer, joined)
    }

    @Test(
        "10,000-point shapes on streams never started are refused and kept nowhere; on a live stream they stop at the session's budget (overlay-full) and the session goes on"
    )
    func budget() async throws {
        try await LiveBroker.run { broker in
            let (agent, customer, joined) = try await Self.pair(broker, ticket: "HD-OVL")
            // Nothing announced yet: the customer's streams 1 and 3, the agent's 2 and 4, a freeze, a pointer.
            for index in 0..<4 {
                try await customer.send(Self.stroke("u\(index)", owner: index % 2 == 0 ? .customer : .agent, stream: UInt16(1 + index)))
            }
            try await customer.send(.freeze(Freeze(owner: .agent, streamID: 9, sequence: 1)))
            try await customer.send(.annotation(.add(Shape(id: "p", kind: .pointer, points: [[0.5, 0.5]]), owner: .customer, streamID: 1)))
            try await Self.waitUntil("six unknown-stream refusals") { Self.errors(customer, "unknown-stream") == 6 }
            #expect(await broker.statistics.overlayBytes() == 0)

            // On a live stream: 13 fit in the default 2 MiB, the rest is refused.
            try await customer.send(.streamStart(Self.camera))
            let cost = OverlayState.cost(of: Shape(id: "s100", kind: .stroke, points: Self.points))
            let fit = BrokerConfiguration().maxOverlayBytesPerSession / cost
            #expect(fit == 13)
            for index in 0..<(fit + 3) { try await customer.send(Self.stroke("s\(100 + index)", owner: .customer, stream: 1)) }
            try await Self.waitUntil("three overlay-full refusals") { Self.errors(customer, "overlay-full") == 3 }
            #expect(await broker.statistics.overlayBytes() == fit * cost)
            try await Self.waitUntil("the agent got the accepted shapes") { Self.annotations(agent) == fit }
            #expect(!agent.messages.contains { if case .freeze = $0 { true } else { false } })

            // The session goes on; removing a shape makes room for another.
            try await customer.send(.chat(Chat(text: "still here")))
            try await agent.waitFor("the chat") { $0 == .chat(Chat(text: "still here", from: .customer)) ? true : nil }
            try await customer.send(.annotation(Annotation(op: .remove, owner: .customer, streamID: 1, id: "s100")))
            try await customer.send(Self.stroke("s200", owner: .customer, stream: 1))
            try await agent.waitFor("the new stroke") { if case .annotation(let add) = $0, add.shape?.id == "s200" { true } else { nil } }
            #expect(await broker.statistics.overlayBytes() == fit * cost)
            #expect(Self.errors(customer, "overlay-full") == 3)
            // Stopping the stream discards its overlay.
            try await customer.send(.streamStop(StreamRef(streamID: 1)))
            try await agent.waitFor("stream.stop") { if case .streamStop = $0 { true } else { nil } }
            #expect(await broker.statistics.overlayBytes() == 0)

            try await agent.send(.sessionEnd(SessionEnd(outcome: .resolved)))
            _ = try await customer.waitFor("session.ended") { if case .sessionEnded(let ended) = $0 { ended } else { nil } }
            let record = try #require(try await broker.store.session(id: joined.sessionID))
            // Accepted: the 13 strokes, the remove and s200; refusals are not counted.
            #expect(record.annotations == fit + 2)
            #expect(record.freezes == 0)
        }
    }

    @Test("a customer who resumes after the budget is full gets the whole overlay in messages that each fit the 64 KiB control limit")
    func catchUpFits() async throws {
        try await LiveBroker.run { broker in
            let (agent, customer, joined) = try await Self.pair(broker, ticket: "HD-OVL-RESUME")
            try await customer.send(.streamStart(Self.camera))
            try await agent.waitFor("stream.start") { if case .streamStart = $0 { true } else { nil } }
            try await agent.send(
                .annotation(.add(Shape(id: "arrow", kind: .arrow, points: [[0.2, 0.2], [0.6, 0.5]]), owner: .customer, streamID: 1))
            )
            try await agent.send(.freeze(Freeze(owner: .customer, streamID: 1, sequence: 5)))
            try await customer.waitFor("the freeze") { if case .freeze = $0 { true } else { nil } }
            for index in 0..<14 { try await customer.send(Self.stroke("s\(100 + index)", owner: .customer, stream: 1)) }
            try await Self.waitUntil("the budget is full") { Self.errors(customer, "overlay-full") == 1 }

            customer.leave()
            try await agent.waitFor("peer.away") { if case .peerAway = $0 { true } else { nil } }
            let token = try #require(joined.resumeToken)
            let limit = BrokerConfiguration().limits.maxControlMessageSize
            let agentRef = agent
            let resumed = try await TandemConnection.run(
                configuration: broker.clientConfiguration,
                hello: .resume(token, role: .customer),
                logger: Logger(label: "tandem.test.client")
            ) { inbound, outbound -> [ControlMessage] in
                var events = inbound.makeAsyncIterator()
                guard case .sessionResumed = try await events.nextControl() else { return [] }
                try await agentRef.waitFor("peer.back") { if case .peerBack = $0 { true } else { nil } }
                try await agentRef.send(.chat(Chat(text: "welcome back")))
                // Everything before the agent's chat is the catch-up.
                var catchUp: [ControlMessage] = []
                while let event = try await events.next() {
                    guard case .control(let message) = event else { continue }
                    if case .chat = message { break }
                    catchUp.append(message)
                }
                try await outbound.send(.sessionEnd(SessionEnd()))
                _ = try await events.untilEnded()
                return catchUp
            }
            let catchUp = try #require(resumed.result)
            let overlay = catchUp.filter { if case .overlaySnapshot = $0 { true } else if case .annotation = $0 { true } else { false } }
            #expect(overlay.count > 13)
            #expect(overlay.count < 100)
            #expect(catchUp.allSatisfy { $0.jsonText.utf8.count <= limit })
            guard case .overlaySnapshot(let first) = overlay.first else {
                Issue.record("the catch-up starts with a snapshot: \(catchUp.map(\.type))")
                return
            }
            #expect(first.frozenSequence == 5 && first.continued == nil)
            var rebuilt: [Shape] = []
            for message in overlay {
                switch message {
                case .overlaySnapshot(let snapshot) where snapshot.continued == true: rebuilt += snapshot.shapes
                case .overlaySnapshot(let snapshot): rebuilt = snapshot.shapes
                case .annotation(let append):
                    #expect(append.op == .append && append.author == .customer)
                    guard let index = rebuilt.firstIndex(where: { $0.id == append.id }) else { continue }
                    rebuilt[index].points += append.points ?? []
                default: break
                }
            }
            #expect(rebuilt.map(\.id) == ["arrow"] + (0..<13).map { "s\(100 + $0)" })
            #expect(rebuilt.dropFirst().allSatisfy { $0.points.count == Shape.maxPoints && $0.author == .customer })
        }
    }

    /// The broker process's resident memory, from /proc.
    static func residentBytes(pid: Int32) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            return fields.count >= 2 ? Int(fields[1]).map { $0 * 1024 } : nil
        }
        return nil
    }

    @Test("150 shapes of 10,000 points against `tandem serve`: the broker's memory grows by less than 50 MB")
    func brokerMemory() async throws {
        let directory = NSTemporaryDirectory() + "tandem-overlay-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: directory + "/tandem.sqlite", logger: Logger(label: "tandem.test.store"))
        let child = try await BrokerProcess.start(directory: directory)
        defer { child.signal(SIGTERM) }
        // The participants' side, pointed at the child broker.
        let broker = LiveBroker(port: child.port, directory: directory, store: store, statistics: BrokerStatistics())
        let (agent, customer, _) = try await Self.pair(broker, ticket: "HD-OVL-RSS")
        let pid = child.process.processIdentifier
        let before = try #require(Self.residentBytes(pid: pid))

        // 60 to streams never started, then 90 to a live one: about 9 MB sent, ~100 MB if kept as sent.
        for index in 0..<60 {
            try await customer.send(Self.stroke("u\(index)", owner: index % 2 == 0 ? .customer : .agent, stream: UInt16(1 + index % 4)))
        }
        try await customer.send(.streamStart(Self.camera))
        for index in 0..<90 { try await customer.send(Self.stroke("s\(100 + index)", owner: .customer, stream: 1)) }
        // Every shape was either refused to the customer or relayed to the agent.
        try await Self.waitUntil("all 150 answered", seconds: 60) {
            Self.errors(customer, "unknown-stream") + Self.errors(customer, "overlay-full") + Self.annotations(agent) >= 150
        }
        let after = try #require(Self.residentBytes(pid: pid))
        #expect(Self.errors(customer, "unknown-stream") == 60)
        #expect(Self.annotations(agent) == 13)
        #expect(after - before < 50 << 20, "broker RSS grew by \((after - before) >> 20) MB")

        try await agent.send(.sessionEnd(SessionEnd(outcome: .resolved)))
        _ = try await customer.waitFor("session.ended") { if case .sessionEnded(let ended) = $0 { ended } else { nil } }
    }
}
