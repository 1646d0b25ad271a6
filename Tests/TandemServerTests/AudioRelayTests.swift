import Foundation
import NIOCore
import TandemProtocol
import Testing

/// Voice through the broker (protocol/README.md §4.1, §5.9): an `opus` stream from the
/// customer's microphone reaches the agent packet for packet with the keyframe flag; an
/// audio frame over 16 KiB is refused and never reaches the agent; a microphone stream with
/// a video codec is refused.
@Suite("Live TLS broker: audio frames", .timeLimit(.minutes(1)))
struct AudioRelayTests {
    func packet(_ sequence: UInt32, size: Int = 160) -> MediaFrame {
        MediaFrame(
            streamID: 2,
            sequence: sequence,
            codec: .opus,
            keyframe: true,
            timestampMicros: UInt64(Date().timeIntervalSince1970 * 1_000_000),
            payload: ByteBuffer(repeating: 0x4F, count: size)
        )
    }

    @Test("opus packets reach the agent; one over 16 KiB gets audio-frame-too-large and goes nowhere")
    func audio() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let agent = LiveParticipant.connect(broker, hello: .agent(token: alice, start: .init(ticket: "HD-VOICE", mode: .camera)))
            let created = try await agent.waitFor("session.created") { if case .sessionCreated(let created) = $0 { created } else { nil } }
            let customer = LiveParticipant.connect(broker, hello: .customer(code: created.joinCode))
            try await customer.waitFor("session.joined") { if case .sessionJoined = $0 { true } else { nil } }
            try await customer.send(.consent(Consent(granted: true)))
            // Voice on (§5.14), and the customer's own answer for its microphone.
            try await agent.send(.voice(Voice(enabled: true)))
            try await customer.waitFor("voice") { if case .voice(let voice) = $0, voice.enabled { true } else { nil } }
            try await customer.send(.consent(Consent(granted: true, source: .microphone)))
            let config = DecoderConfig(codec: "opus", sampleRate: 48_000, numberOfChannels: 1)
            try await customer.send(
                .streamStart(StreamStart(streamID: 2, source: .microphone, codec: .opus, width: 0, height: 0, fps: 50, decoderConfig: config))
            )
            let start = try await agent.waitFor("stream.start") { if case .streamStart(let start) = $0 { start } else { nil } }
            #expect(start.codec == .opus && start.source == .microphone && start.decoderConfig == config && start.owner == .customer)
            for sequence in UInt32(0)..<5 { try await customer.send(packet(sequence)) }
            try await agent.waitForFrames(5)
            try await customer.send(packet(5, size: MediaFrameHeader.maxAudioPayload + 1))
            let refused = try await customer.waitFor("audio-frame-too-large") {
                if case .error(let error) = $0, error.code == .audioFrameTooLarge { error } else { nil }
            }
            #expect(refused.message.contains("16 KiB"))
            try await customer.send(packet(6, size: MediaFrameHeader.maxAudioPayload))
            try await agent.waitForFrames(6)
            let frames = agent.frames
            #expect(frames.map(\.header.sequence) == [0, 1, 2, 3, 4, 6])
            #expect(frames.allSatisfy { $0.header.codec == .opus && $0.header.isKeyframe })
            // A microphone goes with opus only.
            try await customer.send(.streamStart(StreamStart(streamID: 3, source: .microphone, codec: .vp8, width: 0, height: 0, fps: 50)))
            let invalid = try await customer.waitFor("invalid-field") {
                if case .error(let error) = $0, error.code == .invalidField { error } else { nil }
            }
            #expect(invalid.message.contains("codec"))
        }
    }
}
