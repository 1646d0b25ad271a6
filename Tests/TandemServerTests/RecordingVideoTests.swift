import Foundation
import NIOCore
import TandemClient
import TandemProtocol
import Testing

/// A recorded VP8 stream comes out of `tandem replay` as an IVF file that ffprobe reads,
/// frame for frame as relayed, keyframes where the clip has them (issue 15, item 6).
@Suite("Live TLS broker: replaying a recorded video stream", .timeLimit(.minutes(2)))
struct RecordingVideoTests {
    @Test("tandem replay writes the customer's VP8 stream as video/customer-s1.ivf")
    func replayVideo() async throws {
        let clip = try await IVFFileTests.clip(IVFFileTests.encoders[0].1)
        defer { try? FileManager.default.removeItem(atPath: clip) }
        let source = try FrameSource(clip)
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let audrey = try await broker.addUser("audrey", role: .auditor)
            let agent = LiveParticipant.connect(broker, hello: .agent(token: alice, start: .init(ticket: "HD-REC-VP8", mode: .camera, record: true)))
            let created = try await agent.waitFor("session.created") { if case .sessionCreated(let created) = $0 { created } else { nil } }
            let customer = LiveParticipant.connect(broker, hello: .customer(code: created.joinCode))
            try await customer.waitFor("session.joined") { if case .sessionJoined = $0 { true } else { nil } }
            try await customer.send(.consent(Consent(granted: true, source: .camera, recording: true)))
            let start = StreamStart(streamID: 1, source: .camera, codec: .vp8, width: 320, height: 240, fps: 15, decoderConfig: source.decoderConfig)
            try await customer.send(.streamStart(start))
            try await agent.waitFor("stream.start") { if case .streamStart(let start) = $0 { start } else { nil } }
            for index in 0..<15 {
                try await customer.send(source.frame(index))
                // The clip's own rate: the agent's queue never has to drop a frame.
                try await Task.sleep(for: .milliseconds(66))
            }
            // Relayed in order with the frames: once the agent has this chat, all 15 went through the
            // relay and into the recording (a loaded machine may drop some on the way to the agent).
            try await customer.send(.chat(Chat(text: "all 15 sent")))
            try await agent.waitFor("the chat after the frames") { if case .chat(let chat) = $0 { chat } else { nil } }
            #expect(!agent.frames.isEmpty)
            try await agent.send(.sessionEnd(SessionEnd(outcome: .resolved)))
            _ = try await agent.waitFor("session.ended") { if case .sessionEnded(let ended) = $0 { ended } else { nil } }

            let (replay, out) = try broker.startReplay(created.sessionID, token: audrey)
            #expect(try await replay.waitForExit(seconds: 30) == 0, "\(replay.text)")
            #expect(replay.text.contains("Wrote 15 video frames"))
            let file = out + "/video/customer-s1.ivf"
            let exported = try IVFFile(contentsOf: file)
            #expect(exported.codec == .vp8 && exported.width == 320 && exported.height == 240)
            #expect(exported.frames.map(\.payload) == (0..<15).map { source.frame($0).payload })
            let probed = try await IVFFileTests.probedKeyframes(file)
            #expect(probed == (0..<15).map { source.frame($0).header.isKeyframe })
            #expect(probed.first == true)
        }
    }
}
