import Foundation
import TandemClient
import TandemCore
import TandemProtocol
import Testing

@Suite("Live TLS broker: supervisors (protocol/README.md §18)", .timeLimit(.minutes(2)))
struct SupervisorTests {
    static func presence(_ message: ControlMessage) -> SessionPresence? {
        if case .sessionPresence(let presence) = message { presence } else { nil }
    }

    @Test("an observer sees both sides and every overlay but cannot draw; a participant draws and chats; the customer is told who is present")
    func observerAndParticipant() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let root = try await broker.addUser("root", role: .admin)
            let carol = try await broker.addUser("carol", role: .admin)
            let agent = LiveParticipant.connect(broker, hello: .agent(token: alice, start: .init(ticket: "HD-S", mode: .camera)))
            let created = try await agent.waitFor("session.created") { if case .sessionCreated(let created) = $0 { created } else { nil } }
            let customer = LiveParticipant.connect(broker, hello: .customer(code: created.joinCode))
            try await customer.waitFor("session.joined") { if case .sessionJoined(let joined) = $0 { joined } else { nil } }
            try await customer.send(.consent(Consent(granted: true, source: .camera)))
            try await customer.send(.streamStart(StreamStart(streamID: 1, source: .camera, codec: .jpeg, width: 64, height: 48, fps: 5)))
            try await agent.waitFor("stream.start") { if case .streamStart(let start) = $0 { start } else { nil } }
            try await agent.send(
                .annotation(
                    .add(Shape(id: "port", kind: .arrow, color: "#ff3b30", points: [[0.1, 0.1], [0.5, 0.5]]), owner: .customer, streamID: 1)
                )
            )
            try await customer.waitFor("the arrow") { if case .annotation(let annotation) = $0 { annotation } else { nil } }

            // An agent may not supervise; an unknown session is refused.
            let notAdmin = LiveParticipant.connect(broker, hello: .watch(token: alice, .init(sessionID: created.sessionID)))
            #expect(try await notAdmin.closure.value.tandemCode == .forbidden)
            let unknown = LiveParticipant.connect(broker, hello: .watch(token: root, .init(sessionID: "s_abcdefghijkmnpqr")))
            #expect(try await unknown.closure.value.tandemCode == .unknownSession)

            let observer = LiveParticipant.connect(broker, hello: .watch(token: root, .init(sessionID: created.sessionID)))
            let watching = try await observer.waitFor("session.watching") { if case .sessionWatching(let watching) = $0 { watching } else { nil } }
            #expect(watching.agent == "alice")
            #expect(watching.customerPresent)
            #expect(!watching.participate)
            let start = try await observer.waitFor("the customer's stream") { if case .streamStart(let start) = $0 { start } else { nil } }
            #expect(start.owner == .customer)
            let snapshot = try await observer.waitFor("overlay.snapshot") { if case .overlaySnapshot(let snapshot) = $0 { snapshot } else { nil } }
            #expect(snapshot.shapes.map(\.id) == ["port"])
            let told = try await customer.waitFor(
                "presence with root",
                { Self.presence($0).flatMap { $0.present.contains { $0.name == "root" } ? $0 : nil } }
            )
            #expect(told.present.contains(.init(name: "alice", role: .agent)))
            #expect(told.present.contains(.init(name: "root", role: .supervisor, participating: false)))

            // Both sides reach the observer: a frame of the customer, a chat line of the agent.
            try await customer.send(testFrame(stream: 1, sequence: 1, size: 4000, fill: 4))
            try await observer.waitForFrames(1)
            try await agent.waitForFrames(1)
            #expect(observer.frames.first?.payload == agent.frames.first?.payload)
            try await agent.send(.chat(Chat(text: "see the yellow port")))
            try await observer.waitFor("the agent's chat") { if case .chat(let chat) = $0, chat.from == .agent { chat } else { nil } }
            // The observer cannot draw or chat.
            try await observer.send(
                .annotation(.add(Shape(id: "nope", kind: .rect, color: "#000000", points: [[0, 0], [1, 1]]), owner: .customer, streamID: 1))
            )
            try await observer.waitFor("observer error") { if case .error(let error) = $0, error.code == "observer" { error } else { nil } }
            try await observer.send(testFrame(stream: 1, sequence: 1, size: 10, fill: 1))
            try await observer.waitFor("no media from supervisors") {
                if case .error(let error) = $0, error.code == "supervisor" { error } else { nil }
            }

            // A participating supervisor draws and chats; both sides see it.
            let participant = LiveParticipant.connect(broker, hello: .watch(token: carol, .init(sessionID: created.sessionID, participate: true)))
            try await participant.waitFor("session.watching") {
                if case .sessionWatching(let watching) = $0, watching.participate { watching } else { nil }
            }
            try await participant.send(
                .annotation(
                    .add(Shape(id: "cable", kind: .ellipse, color: "#00aaff", points: [[0.2, 0.2], [0.4, 0.4]]), owner: .customer, streamID: 1)
                )
            )
            try await customer.waitFor("carol's ellipse") {
                if case .annotation(let annotation) = $0, annotation.shape?.id == "cable" { annotation } else { nil }
            }
            try await agent.waitFor("carol's ellipse") {
                if case .annotation(let annotation) = $0, annotation.shape?.id == "cable" { annotation } else { nil }
            }
            try await observer.waitFor("carol's ellipse") {
                if case .annotation(let annotation) = $0, annotation.shape?.id == "cable" { annotation } else { nil }
            }
            try await participant.send(.chat(Chat(text: "try the other cable")))
            let chat = try await customer.waitFor("carol's chat") { if case .chat(let chat) = $0, chat.supervisor != nil { chat } else { nil } }
            #expect(chat.supervisor == "carol")
            #expect(!observer.messages.contains { if case .annotation(let annotation) = $0 { annotation.shape?.id == "nope" } else { false } })
            #expect(!customer.messages.contains { if case .annotation(let annotation) = $0 { annotation.shape?.id == "nope" } else { false } })

            // The observer leaves: everyone is told; the session goes on.
            try await observer.send(.sessionEnd(SessionEnd()))
            #expect(try await observer.closure.value.code == 1000)
            try await customer.waitFor(
                "presence without root",
                {
                    Self.presence($0).flatMap {
                        $0.present.contains { $0.name == "root" } ? nil : ($0.present.contains { $0.name == "carol" } ? $0 : nil)
                    }
                }
            )
            try await customer.send(testFrame(stream: 1, sequence: 2, size: 100, fill: 2))
            try await agent.waitForFrames(2)

            let list = try await broker.api(root) { try await $0.liveSessions() }
            #expect(list.sessions.map(\.id) == [created.sessionID])
            #expect(list.sessions.first?.supervisors == ["carol"])
            await #expect(throws: TandemAPIClient.Failure.self) { try await broker.api(alice) { try await $0.liveSessions() } }

            try await agent.send(.sessionEnd(SessionEnd(outcome: .resolved)))
            let ended = try await participant.waitFor("session.ended") { if case .sessionEnded(let ended) = $0 { ended } else { nil } }
            #expect(ended.outcome == .resolved)
            let events = try await broker.store.events(sessionID: created.sessionID).map {
                "\($0.kind) \($0.actor ?? "-") \($0.detail["mode"] ?? "")"
            }
            #expect(events.contains("supervisor.joined root observer"))
            #expect(events.contains("supervisor.joined carol participant"))
            #expect(events.contains("supervisor.left root "))
            #expect(!events.contains("supervisor.left carol "))
        }
    }
}
