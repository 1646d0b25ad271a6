import Foundation
import TandemCore
import TandemProtocol
import Testing

/// Anchored annotations over a live TLS broker (§5.15): the publisher's `track` reaches the
/// agent and a supervisor (who also gets the latest one in its catch-up), nobody else may
/// track the stream, anchored shapes keep their anchor, and the session's ending counts them.
@Suite("Live TLS broker: scene tracking and anchored shapes", .timeLimit(.minutes(2)))
struct AnchorRelayTests {
    let moved = [0.96875, -0.125, 0.0625, 0.0703125, 0.96875, -0.03125]

    func track(_ sequence: UInt32, _ state: Track.State = .tracking) -> ControlMessage {
        .track(Track(streamID: 1, sequence: sequence, epoch: 1, state: state, m: moved))
    }

    @Test("track relayed with its owner, refused from the agent, in a supervisor's catch-up; the ending counts anchors, losses, recoveries")
    func relayAndCounts() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let root = try await broker.addUser("root", role: .admin)
            let agent = LiveParticipant.connect(broker, hello: .agent(token: alice, start: .init(ticket: "HD-AN", mode: .camera)))
            let created = try await agent.waitFor("session.created") { if case .sessionCreated(let created) = $0 { created } else { nil } }
            let customer = LiveParticipant.connect(broker, hello: .customer(code: created.joinCode))
            try await customer.waitFor("session.joined") { if case .sessionJoined(let joined) = $0 { joined } else { nil } }
            try await customer.send(.consent(Consent(granted: true, source: .camera)))
            try await customer.send(.streamStart(StreamStart(streamID: 1, source: .camera, codec: .jpeg, width: 640, height: 360, fps: 15)))
            try await agent.waitFor("stream.start") { if case .streamStart(let start) = $0 { start } else { nil } }

            // The customer publishes the stream: its track reaches the agent, owner set.
            try await customer.send(track(1))
            let relayed = try await agent.waitFor("track") { if case .track(let track) = $0 { track } else { nil } }
            #expect(relayed == Track(owner: .customer, streamID: 1, sequence: 1, epoch: 1, state: .tracking, m: moved))

            // The agent does not publish it: refused, not relayed.
            try await agent.send(track(2))
            let refused = try await agent.waitFor("unknown-stream") {
                if case .error(let error) = $0, error.code == .unknownStream { error } else { nil }
            }
            #expect(refused.code == .unknownStream)

            // An anchored arrow keeps its anchor on the way to the customer.
            let anchor = ShapeAnchor(epoch: 1, m: moved)
            let arrow = Shape(id: "port", kind: .arrow, points: [[0.375, 0.625], [0.5, 0.5]], anchor: anchor)
            try await agent.send(.annotation(.add(arrow, owner: .customer, streamID: 1)))
            let drawn = try await customer.waitFor("the anchored arrow") { if case .annotation(let annotation) = $0 { annotation } else { nil } }
            #expect(drawn.shape?.anchor == anchor)

            // Lost, then found again.
            try await customer.send(track(3, .lost))
            try await customer.send(track(4, .tracking))
            try await agent.waitFor("track 4") { if case .track(let track) = $0, track.sequence == 4 { track } else { nil } }

            // A supervisor joining now gets the arrow with its anchor and the latest track.
            let observer = LiveParticipant.connect(broker, hello: .watch(token: root, .init(sessionID: created.sessionID)))
            let snapshot = try await observer.waitFor("overlay.snapshot") { if case .overlaySnapshot(let snapshot) = $0 { snapshot } else { nil } }
            #expect(snapshot.shapes.first?.anchor == anchor)
            let latest = try await observer.waitFor("the latest track") { if case .track(let track) = $0 { track } else { nil } }
            #expect(latest.sequence == 4)
            #expect(latest.owner == .customer)

            try await agent.send(.sessionEnd(SessionEnd(outcome: .resolved)))
            try await agent.waitFor("session.ended") { if case .sessionEnded(let ended) = $0 { ended } else { nil } }
            let ended = try #require(try await broker.store.events(sessionID: created.sessionID).last)
            #expect(ended.kind == "session.ended")
            #expect(ended.detail["anchors"] == "1")
            #expect(ended.detail["trackingLost"] == "1")
            #expect(ended.detail["trackingRecovered"] == "1")
        }
    }

    @Test("tandem replay draws an anchored arrow on each frame where that frame's track puts it, and a fixed one where it was drawn")
    func replayed() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let audrey = try await broker.addUser("audrey", role: .auditor)
            let agent = LiveParticipant.connect(broker, hello: .agent(token: alice, start: .init(ticket: "HD-AN-REC", mode: .camera, record: true)))
            let created = try await agent.waitFor("session.created") { if case .sessionCreated(let created) = $0 { created } else { nil } }
            let customer = LiveParticipant.connect(broker, hello: .customer(code: created.joinCode))
            try await customer.waitFor("session.joined") { if case .sessionJoined = $0 { true } else { nil } }
            try await customer.send(.consent(Consent(granted: true, source: .camera, recording: true)))
            try await customer.send(.streamStart(StreamStart(streamID: 1, source: .camera, codec: .jpeg, width: 1000, height: 500, fps: 15)))
            try await agent.waitFor("stream.start") { if case .streamStart(let start) = $0 { start } else { nil } }
            // Frame 0: the world itself; the agent anchors an arrow there and draws a fixed one.
            try await customer.send(testFrame(stream: 1, sequence: 0, size: 64, fill: 1))
            try await customer.send(.track(Track(streamID: 1, sequence: 0, epoch: 1, state: .tracking, m: SceneTransform.identity)))
            try await agent.waitFor("track 0") { if case .track(let track) = $0 { track } else { nil } }
            let anchored = Shape(
                id: "stuck",
                kind: .arrow,
                points: [[0.2, 0.2], [0.5, 0.5]],
                anchor: ShapeAnchor(epoch: 1, m: SceneTransform.identity)
            )
            let fixed = Shape(id: "fixed", kind: .arrow, points: [[0.2, 0.2], [0.5, 0.5]])
            try await agent.send(.annotation(.add(anchored, owner: .customer, streamID: 1)))
            try await agent.send(.annotation(.add(fixed, owner: .customer, streamID: 1)))
            try await customer.waitFor("the arrows") { if case .annotation(let a) = $0, a.shape?.id == "fixed" { a } else { nil } }
            // Frames 1 and 2: the scene moved right by 0.1 and 0.2 of the width; frame 3 lost it.
            for (sequence, shift, state) in [(UInt32(1), 0.1, Track.State.tracking), (2, 0.2, .tracking), (3, 0.2, .lost)] {
                try await customer.send(testFrame(stream: 1, sequence: sequence, size: 64, fill: UInt8(sequence + 1)))
                try await customer.send(.track(Track(streamID: 1, sequence: sequence, epoch: 1, state: state, m: [1, 0, shift, 0, 1, 0])))
            }
            try await agent.waitFor("track 3") { if case .track(let track) = $0, track.sequence == 3 { track } else { nil } }
            try await agent.send(.sessionEnd(SessionEnd(outcome: .resolved)))
            _ = try await agent.waitFor("session.ended") { if case .sessionEnded(let ended) = $0 { ended } else { nil } }

            let (replay, out) = try broker.startReplay(created.sessionID, token: audrey)
            #expect(try await replay.waitForExit(seconds: 30) == 0, "\(replay.text)")
            func svg(_ sequence: Int) throws -> String {
                try String(contentsOfFile: "\(out)/annotated/customer-s1-000000000\(sequence).svg", encoding: .utf8)
            }
            // Tip at x = (0.5 + shift) × 1000, y = 250; the fixed arrow's tip stays at 500.
            let (first, second, third) = (try svg(1), try svg(2), try svg(3))
            #expect(first.contains("x2=\"600.0\" y2=\"250.0\""), "\(first)")
            #expect(second.contains("x2=\"700.0\" y2=\"250.0\""), "\(second)")
            #expect(second.contains("x2=\"500.0\" y2=\"250.0\""))
            #expect(third.contains("opacity=\"0.35\"") && third.contains(">lost</text>"))
            #expect(!second.contains(">lost</text>"))
            let timeline = try String(contentsOfFile: "\(out)/overlays.jsonl", encoding: .utf8)
            #expect(timeline.components(separatedBy: "\"type\":\"track\"").count - 1 == 4)
        }
    }
}
