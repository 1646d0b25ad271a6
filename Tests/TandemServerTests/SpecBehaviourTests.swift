import Foundation
import TandemClient
import TandemCore
import TandemProtocol
import Testing

/// Behaviour protocol/README.md now states where a foreign implementer found it unclear
/// (issue 13, item 20): each test pins one documented answer against a live broker.
@Suite("Live TLS broker: spec answers (§1, §5.9, §8, §13)", .timeLimit(.minutes(2)))
struct SpecBehaviourTests {
    /// Waits until the session has an end reason in the log (or 5 s pass) and returns it.
    func endReason(_ broker: LiveBroker, _ sessionID: String) async throws -> EndReason? {
        for _ in 0..<250 {
            if let reason = try await broker.store.session(id: sessionID)?.endReason { return reason }
            try await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    @Test("a control message over its limit after the hello gets error message-too-big, then close 1009; the session ends as a protocol violation")
    func controlTooBigIsExplained() async throws {
        try await LiveBroker.run(configure: { $0.limits.maxControlMessageSize = 1024 }) { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let agent = LiveParticipant.connect(broker, hello: .agent(token: alice, start: .init(ticket: "HD-SPEC-BIG", mode: .screen)))
            let created = try await agent.waitFor("session.created") { (message: ControlMessage) -> SessionCreated? in
                if case .sessionCreated(let created) = message { return created }
                return nil
            }
            try await agent.send(.chat(Chat(text: String(repeating: "x", count: 2000))))
            let closure = try await agent.closure.value
            #expect(closure.code == 1009)
            let codes = agent.messages.compactMap { (message: ControlMessage) -> String? in
                if case .error(let error) = message { return error.code.rawValue }
                return nil
            }
            #expect(codes == ["message-too-big"])
            #expect(try await endReason(broker, created.sessionID) == .protocolViolation)
        }
    }

    @Test("fps 0 is refused with invalid-field; frames on a stream that was never announced are relayed and counted")
    func streamsAsSpecified() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let agent = LiveParticipant.connect(broker, hello: .agent(token: alice, start: .init(ticket: "HD-SPEC-STREAM", mode: .camera)))
            let created = try await agent.waitFor("session.created") { (message: ControlMessage) -> SessionCreated? in
                if case .sessionCreated(let created) = message { return created }
                return nil
            }
            // §5.9: fps is above 0 (the schema says exclusiveMinimum 0).
            try await agent.send(.streamStart(StreamStart(streamID: 1, source: .screen, codec: .jpeg, width: 64, height: 48, fps: 0)))
            try await agent.waitFor("invalid-field for fps 0") { (message: ControlMessage) -> Bool? in
                if case .error(let error) = message, error.code == "invalid-field" { return true }
                return nil
            }

            // §5.9: a frame on a stream id nobody announced is relayed like any other.
            let customer = LiveParticipant.connect(broker, hello: .customer(code: created.joinCode))
            try await customer.waitFor("session.joined") { (message: ControlMessage) -> Bool? in
                if case .sessionJoined = message { return true }
                return nil
            }
            try await customer.send(.consent(Consent(granted: true)))
            try await customer.send(testFrame(stream: 7, sequence: 1, size: 500, fill: 7))
            try await agent.waitForFrames(1, seconds: 10)
            #expect(agent.frames.map(\.header.streamID) == [7])
            #expect(
                !agent.messages.contains { (message: ControlMessage) -> Bool in
                    if case .streamStart = message { return true }
                    return false
                }
            )

            try await agent.send(.sessionEnd(SessionEnd(outcome: .resolved)))
            _ = try await agent.closure.value
            _ = try await customer.closure.value
            #expect(try await endReason(broker, created.sessionID) == .agentEnded)
            let record = try #require(try await broker.store.session(id: created.sessionID))
            let stream = try #require(record.streams.first { $0.owner == .customer && $0.streamID == 7 })
            #expect(stream.framesRelayed == 1)
            #expect(stream.source == nil)
        }
    }
}
