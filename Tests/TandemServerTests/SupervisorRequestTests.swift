import Foundation
import TandemClient
import TandemCore
import TandemProtocol
import Testing

/// `supervisor.request` (protocol/README.md §20.5) on a real TLS broker: at most 10 per session.
@Suite("Live TLS broker: supervisor.request, 10 per session (protocol/README.md §20.5)", .timeLimit(.minutes(2)))
struct SupervisorRequestTests {
    static func capped(_ message: ControlMessage) -> ErrorMessage? {
        if case .error(let error) = message, error.code == .rateLimited, error.message.contains("supervisor at most 10 times") { error } else { nil }
    }

    @Test("the first 10 requests of a session are logged; the 11th gets error rate-limited, is neither logged nor listed, and the session goes on")
    func capPerSession() async throws {
        try await LiveBroker.run { broker in
            let root = try await broker.addUser("root", role: .admin)
            let alice = try await broker.addUser("alice", role: .agent)
            let floor = LiveParticipant.connect(broker, hello: .floor(token: root))
            try await floor.waitFor("floor.state", FloorTests.floor { _ in true })
            let agent = LiveParticipant.connect(broker, hello: .agent(token: alice, start: .init(ticket: "HD-SV1", mode: .screen)))
            let created = try await agent.waitFor("session.created") { if case .sessionCreated(let c) = $0 { c } else { nil } }
            let customer = LiveParticipant.connect(broker, hello: .customer(code: created.joinCode))
            try await customer.waitFor("session.joined") { if case .sessionJoined(let j) = $0 { j } else { nil } }
            try await agent.waitFor("peer.joined") { if case .peerJoined(let p) = $0 { p } else { nil } }

            for index in 1...10 {
                try await agent.send(.supervisorRequest(SupervisorRequest(note: "help \(index)")))
            }
            let requested = try await RoutingTests.events(broker, .supervisorRequested, count: 10)
            #expect(requested.compactMap { $0.detail["note"] } == (1...10).map { "help \($0)" })
            #expect(requested.allSatisfy { $0.actor == "alice" && $0.sessionID == created.sessionID })
            #expect(!agent.messages.contains { if case .error = $0 { true } else { false } })
            // Each one replaced the note of the open request: the floor lists the last.
            try await floor.waitFor("help 10 on the floor") { message in
                FloorTests.floor { $0.sessions.first?.helpRequested?.note == "help 10" }(message)
            }

            try await agent.send(.supervisorRequest(SupervisorRequest(note: "help 11")))
            let refusal = try await agent.waitFor("error rate-limited", Self.capped)
            #expect(refusal.message == "a session asks for a supervisor at most 10 times")
            // Refused before anything was written: still 10, none of them the 11th.
            let logged = try await broker.store.auditEvents(since: nil, until: nil, limit: 10_000).filter { $0.kind == .supervisorRequested }
            #expect(logged.count == 10)
            #expect(!logged.contains { $0.detail["note"] == "help 11" })

            // The session goes on: chat still reaches the customer, and the connections stay open.
            try await agent.send(.chat(Chat(text: "a supervisor is on the way")))
            try await customer.waitFor("the agent's chat") { message in
                if case .chat(let chat) = message, chat.text == "a supervisor is on the way" { chat } else { nil }
            }
            // The floor (sent every sweep when it changed) never listed the 11th note.
            try await Task.sleep(for: .milliseconds(1500))
            #expect(!floor.messages.contains { FloorTests.floor { $0.sessions.first?.helpRequested?.note == "help 11" }($0) != nil })
            let last = floor.messages.compactMap(FloorTests.floor { _ in true }).last
            #expect(last?.sessions.first?.helpRequested?.note == "help 10")
            #expect(agent.messages.compactMap(Self.capped).count == 1)
            #expect(!agent.messages.contains { if case .sessionEnded = $0 { true } else { false } })
            #expect(try await broker.store.session(id: created.sessionID)?.endedAt == nil)
            customer.leave()
        }
    }
}
