import Foundation
import NIOCore
import TandemCore
import TandemProtocol
import Testing

/// Voice (protocol/README.md §5.14) through a live TLS broker: nothing audio goes before the
/// agent turns voice on; the customer's microphone needs its own consent, independent of
/// the camera's; withdrawing it or turning voice off stops the audio streams; everything is
/// logged as audio.started / audio.stopped per side. And the codec capability of §5.1.
@Suite("Live TLS broker: voice and codec capability", .timeLimit(.minutes(2)))
struct VoiceTests {
    func packet(_ stream: UInt16, _ sequence: UInt32) -> MediaFrame {
        MediaFrame(
            streamID: stream,
            sequence: sequence,
            codec: .opus,
            keyframe: true,
            timestampMicros: UInt64(Date().timeIntervalSince1970 * 1_000_000),
            payload: ByteBuffer(repeating: 0xF8, count: 80)
        )
    }

    func microphone(_ stream: UInt16) -> ControlMessage {
        .streamStart(
            StreamStart(
                streamID: stream,
                source: .microphone,
                codec: .opus,
                width: 0,
                height: 0,
                fps: 50,
                decoderConfig: DecoderConfig(codec: "opus", sampleRate: 48_000, numberOfChannels: 1)
            )
        )
    }

    /// Waits until `participant` has received `count` errors with `code`.
    func errors(_ participant: LiveParticipant, _ code: ErrorCode, count: Int) async throws {
        try await participant.waitFor("\(count)× \(code.rawValue)") { _ in
            let seen = participant.messages.filter { if case .error(let error) = $0 { error.code == code } else { false } }.count
            return seen >= count ? true : nil
        }
    }

    /// Frames of `stream` the participant received.
    func frames(_ participant: LiveParticipant, stream: UInt16) -> [UInt32] {
        participant.frames.filter { $0.header.streamID == stream }.map(\.header.sequence)
    }

    @Test("voice off refuses audio; the microphone has its own consent; withdrawing it and voice off stop the audio, all logged")
    func voiceLifecycle() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let agent = LiveParticipant.connect(broker, hello: .agent(token: alice, start: .init(ticket: "HD-TALK", mode: .camera)))
            let created = try await agent.waitFor("session.created") { if case .sessionCreated(let created) = $0 { created } else { nil } }
            let customer = LiveParticipant.connect(broker, hello: .customer(code: created.joinCode))
            try await customer.waitFor("session.joined") { if case .sessionJoined = $0 { true } else { nil } }
            try await customer.send(.consent(Consent(granted: true, source: .camera)))
            try await agent.waitFor("consent") { if case .consent = $0 { true } else { nil } }

            // Voice is off: audio streams, audio frames and the microphone answer are refused.
            try await customer.send(microphone(9))
            try await errors(customer, .voiceOff, count: 1)
            try await customer.send(.consent(Consent(granted: true, source: .microphone)))
            try await errors(customer, .voiceOff, count: 2)
            try await agent.send(microphone(9))
            try await errors(agent, .voiceOff, count: 1)
            try await agent.send(packet(9, 0))
            try await agent.send(packet(9, 1))
            try await errors(agent, .voiceOff, count: 2)
            // Only the agent turns voice on.
            try await customer.send(.voice(Voice(enabled: true)))
            try await errors(customer, .unexpectedMessage, count: 1)

            try await agent.send(.voice(Voice(enabled: true)))
            try await customer.waitFor("voice on") { if case .voice(let voice) = $0, voice.enabled { true } else { nil } }
            // The camera's consent does not cover the microphone.
            try await customer.send(microphone(9))
            try await errors(customer, .consentRequired, count: 1)
            try await customer.send(.consent(Consent(granted: true, source: .microphone)))
            try await agent.waitFor("microphone consent") {
                if case .consent(let consent) = $0, consent.source == .microphone, consent.granted { true } else { nil }
            }
            // The same answer again changes nothing: not logged (the list below), not relayed.
            try await customer.send(.consent(Consent(granted: true, source: .microphone)))
            try await customer.send(microphone(9))
            try await agent.send(microphone(9))
            try await agent.waitFor("customer audio") { if case .streamStart(let start) = $0, start.codec == .opus { true } else { nil } }
            try await customer.waitFor("agent audio") { if case .streamStart(let start) = $0, start.codec == .opus { true } else { nil } }
            for sequence in UInt32(0)..<3 {
                try await customer.send(packet(9, sequence))
                try await agent.send(packet(9, 10 + sequence))
            }
            try await agent.waitForFrames(3)
            try await customer.waitForFrames(3)
            #expect(frames(agent, stream: 9) == [0, 1, 2])
            #expect(agent.messages.filter { if case .consent(let consent) = $0 { consent.source == .microphone } else { false } }.count == 1)
            #expect(frames(customer, stream: 9) == [10, 11, 12])

            // Stopping the camera leaves the voice going.
            try await customer.send(.consent(Consent(granted: false, source: .camera)))
            try await customer.send(packet(9, 3))
            try await agent.waitForFrames(4)
            // Taking back the microphone stops the customer's audio for the agent.
            try await customer.send(.consent(Consent(granted: false, source: .microphone)))
            try await agent.waitFor("audio stop") { if case .streamStop(let stop) = $0, stop.owner == .customer { true } else { nil } }
            try await customer.send(packet(9, 4))
            try await errors(customer, .consentRequired, count: 2)
            #expect(frames(agent, stream: 9) == [0, 1, 2, 3])

            // Voice off stops the agent's audio for the customer, and tells it.
            try await agent.send(.voice(Voice(enabled: false)))
            try await customer.waitFor("voice off") { if case .voice(let voice) = $0, !voice.enabled { true } else { nil } }
            try await customer.waitFor("agent audio stop") { if case .streamStop(let stop) = $0, stop.owner == .agent { true } else { nil } }
            // A second "off" changes nothing and is not logged.
            try await agent.send(.voice(Voice(enabled: false)))
            try await agent.send(.sessionEnd(SessionEnd(outcome: .resolved)))
            try await agent.waitFor("session.ended") { if case .sessionEnded = $0 { true } else { nil } }

            let session = try #require(try await broker.store.sessions(matching: SessionFilter(ticket: "HD-TALK")).first)
            let events = try await broker.store.events(sessionID: session.id)
            let voice = events.filter {
                $0.kind.rawValue.hasPrefix("audio.") || $0.kind.rawValue.hasPrefix("voice.") || $0.detail["source"] == "microphone"
            }
            #expect(
                voice.map(\.kind) == [
                    "voice.enabled", "consent.granted", "audio.started", "audio.started", "consent.denied", "audio.stopped", "voice.disabled",
                    "audio.stopped",
                ]
            )
            #expect(voice[0].actor == "alice")
            // The two sides' starts were sent together: either may be logged first.
            let started = voice[2...3].sorted { ($0.detail["owner"] ?? "") < ($1.detail["owner"] ?? "") }
            #expect(started.map { $0.detail["owner"] } == ["agent", "customer"])
            #expect(started.allSatisfy { $0.detail["codec"] == "opus" && $0.detail["packetsPerSecond"] == "50.0" })
            #expect(voice[4].detail["withdrawn"] == "true")
            #expect(voice[5].detail["reason"] == "withdrawn" && voice[5].detail["owner"] == "customer")
            #expect(voice[7].detail["reason"] == "voice-off" && voice[7].detail["owner"] == "agent")
            // No audio start was logged as a video stream.
            #expect(!events.contains { $0.kind == "stream.started" && $0.detail["codec"] == "opus" })
        }
    }

    @Test("each side learns what the other decodes; names the broker does not know are left out; no list means images only")
    func codecCapability() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            var agentHello = Hello.agent(token: alice, start: .init(ticket: "HD-CODECS", mode: .camera))
            agentHello.codecs = try ControlMessage.decode(text: #"{"type":"peer.joined","role":"agent","codecs":["vp9","x-future","opus"]}"#)
                .peerJoinedCodecs
            let agent = LiveParticipant.connect(broker, hello: agentHello)
            let created = try await agent.waitFor("session.created") { if case .sessionCreated(let created) = $0 { created } else { nil } }
            var customerHello = Hello.customer(code: created.joinCode)
            customerHello.codecs = CodecList([.vp8, .jpeg])
            let customer = LiveParticipant.connect(broker, hello: customerHello)
            let joined = try await customer.waitFor("session.joined") { if case .sessionJoined(let joined) = $0 { joined } else { nil } }
            #expect(joined.codecs == CodecList([.vp9, .opus]))
            let peer = try await agent.waitFor("peer.joined") { if case .peerJoined(let peer) = $0 { peer } else { nil } }
            #expect(peer.codecs == CodecList([.vp8, .jpeg]))

            // A client that says nothing: the other side gets no list (images only, §5.1).
            let bob = try await broker.addUser("bob", role: .agent)
            let plain = LiveParticipant.connect(broker, hello: .agent(token: bob, start: .init(ticket: "HD-OLD", mode: .camera)))
            let old = try await plain.waitFor("session.created") { if case .sessionCreated(let created) = $0 { created } else { nil } }
            let oldCustomer = LiveParticipant.connect(broker, hello: .customer(code: old.joinCode))
            let oldJoined = try await oldCustomer.waitFor("session.joined") { if case .sessionJoined(let joined) = $0 { joined } else { nil } }
            #expect(oldJoined.codecs == nil)
            let oldPeer = try await plain.waitFor("peer.joined") { if case .peerJoined(let peer) = $0 { peer } else { nil } }
            #expect(oldPeer.codecs == nil)
        }
    }
}

extension ControlMessage {
    fileprivate var peerJoinedCodecs: CodecList? {
        if case .peerJoined(let peer) = self { peer.codecs } else { nil }
    }
}
