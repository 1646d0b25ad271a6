import Foundation
import NIOCore
import TandemClient
import TandemProtocol
import Testing

/// H.264 and Opus streams out of `tandem replay` (DIR/video/*.h264, DIR/audio/*.opus) and
/// `--save-frames` as files ffprobe and ffmpeg read, frame for frame and packet for packet,
/// and the overlay timeline (DIR/overlays.jsonl) in recording order (protocol/README.md §19).
@Suite("Live TLS broker: H.264 and Opus streams and the overlay timeline exported", .timeLimit(.minutes(3)))
struct RecordingMediaTests {
    static let h264Config = DecoderConfig(codec: "avc1.42C00D")
    static let opusConfig = DecoderConfig(codec: "opus", sampleRate: 48_000, numberOfChannels: 1)

    /// Voice (§5.14): audio goes only once the agent turned voice on and, for the customer's,
    /// the customer agreed to its microphone.
    static func turnVoiceOn(agent: LiveParticipant, customer: LiveParticipant?) async throws {
        try await agent.send(.voice(Voice(enabled: true)))
        guard let customer else { return }
        try await customer.waitFor("voice") { $0.type == "voice" ? true : nil }
        try await customer.send(.consent(Consent(granted: true, source: .microphone)))
    }

    /// Sends `packets` 20 ms apart on stream 2 and, with every third, the next of
    /// `accessUnits` on stream 1 (about 15 fps), each with the keyframe flag of its bitstream.
    static func send(_ participant: LiveParticipant, accessUnits: ArraySlice<ByteBuffer>, packets: ArraySlice<ByteBuffer>) async throws {
        let now = UInt64(Date().timeIntervalSince1970 * 1_000_000)
        for (index, packet) in zip(packets.indices, packets) {
            let micros = now + UInt64(index - packets.startIndex) * 20_000
            try await participant.send(
                MediaFrame(streamID: 2, sequence: UInt32(index), codec: .opus, keyframe: true, timestampMicros: micros, payload: packet)
            )
            let unit = accessUnits.startIndex + (index - packets.startIndex) / 3
            if (index - packets.startIndex) % 3 == 0, unit < accessUnits.endIndex {
                let payload = accessUnits[unit]
                let keyframe = VideoKeyframe.isKeyframe(payload, codec: .h264)
                try await participant.send(
                    MediaFrame(streamID: 1, sequence: UInt32(unit), codec: .h264, keyframe: keyframe, timestampMicros: micros, payload: payload)
                )
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test("replay: the customer's H.264 as video/customer-s1.h264, its voice as audio/customer-s2.opus, the overlays as overlays.jsonl")
    func replayed() async throws {
        guard await FFmpegMedia.available() else { return }
        let units = try await FFmpegMedia.h264AccessUnits(frames: 30)
        let packets = try await FFmpegMedia.opusPackets(seconds: 2)
        #expect(units.count == 30 && packets.count >= 95)
        let note = "two lines\nand an escape \u{1B}[2J"
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let audrey = try await broker.addUser("audrey", role: .auditor)
            let agent = LiveParticipant.connect(broker, hello: .agent(token: alice, start: .init(ticket: "HD-REC-AV", mode: .camera, record: true)))
            let created = try await agent.waitFor("session.created") { if case .sessionCreated(let created) = $0 { created } else { nil } }
            // The agent's own stream, annotated before anyone joined: recorded as the state
            // at the start (stream.start, overlay.snapshot).
            try await agent.send(.streamStart(StreamStart(streamID: 9, source: .screen, codec: .jpeg, width: 640, height: 360, fps: 5)))
            let welcome = Shape(id: "welcome", kind: .rect, points: [[0.1, 0.1], [0.4, 0.3]])
            try await agent.send(.annotation(.add(welcome, owner: .agent, streamID: 9)))
            let customer = LiveParticipant.connect(broker, hello: .customer(code: created.joinCode))
            // In the snapshot when the customer joins, or live when it joined first: either way
            // in the overlay before the customer agrees to the recording.
            try await customer.waitFor("the agent's rectangle") { message -> Bool? in
                if case .overlaySnapshot(let snapshot) = message { return snapshot.shapes.contains(where: { $0.id == "welcome" }) ? true : nil }
                if case .annotation(let annotation) = message { return annotation.shape?.id == "welcome" ? true : nil }
                return nil
            }
            try await customer.send(.consent(Consent(granted: true, source: .camera, recording: true)))
            try await Self.turnVoiceOn(agent: agent, customer: customer)
            try await customer.send(
                .streamStart(
                    StreamStart(streamID: 1, source: .camera, codec: .h264, width: 320, height: 240, fps: 15, decoderConfig: Self.h264Config)
                )
            )
            try await customer.send(
                .streamStart(
                    StreamStart(streamID: 2, source: .microphone, codec: .opus, width: 0, height: 0, fps: 50, decoderConfig: Self.opusConfig)
                )
            )
            try await agent.waitFor("the customer's audio") { if case .streamStart(let start) = $0, start.streamID == 2 { start } else { nil } }
            try await Self.send(customer, accessUnits: units[...], packets: packets[...])
            // Drawn on the customer's video: an arrow, a text with a line break and an ESC, a freeze.
            try await agent.send(
                .annotation(.add(Shape(id: "arrow", kind: .arrow, points: [[0.2, 0.8], [0.5, 0.5]]), owner: .customer, streamID: 1))
            )
            try await agent.send(.annotation(.add(Shape(id: "note", kind: .text, points: [[0.6, 0.1]], text: note), owner: .customer, streamID: 1)))
            try await agent.send(.freeze(Freeze(owner: .customer, streamID: 1, sequence: 5)))
            try await agent.send(.unfreeze(Freeze(owner: .customer, streamID: 1)))
            try await customer.waitFor("the unfreeze") { if case .unfreeze(let freeze) = $0 { freeze } else { nil } }
            // Its last message, so every frame before it is recorded once the agent has it.
            try await customer.send(.streamStop(StreamRef(streamID: 1)))
            try await agent.waitFor("the stop") { if case .streamStop(let stop) = $0, stop.streamID == 1 { stop } else { nil } }
            try await agent.send(.sessionEnd(SessionEnd(outcome: .resolved)))
            _ = try await agent.waitFor("session.ended") { if case .sessionEnded(let ended) = $0 { ended } else { nil } }

            let (replay, out) = try broker.startReplay(created.sessionID, token: audrey)
            #expect(try await replay.waitForExit(seconds: 60) == 0, "\(replay.text)")
            #expect(replay.text.contains("Wrote 30 video frames"), "\(replay.text)")
            #expect(replay.text.contains("customer-s1.h264: H.264 Annex-B, 30 access units, 320x240"), "\(replay.text)")
            #expect(replay.text.contains("Wrote \(packets.count) audio packets"), "\(replay.text)")
            #expect(replay.text.contains("customer-s2.opus: Ogg Opus, \(packets.count) packets"), "\(replay.text)")

            // The video: the access units back to back, as ffprobe counts them.
            let video = out + "/video/customer-s1.h264"
            #expect(FileManager.default.contents(atPath: video) == Data(units.flatMap { Array($0.readableBytesView) }))
            let probedVideo = try await FFmpegMedia.probe(video, countFrames: true)
            #expect(probedVideo.codec == "h264" && probedVideo.width == 320 && probedVideo.height == 240)
            #expect(probedVideo.frames == 30)

            // The voice: every packet, 2 s of mono Opus that ffmpeg decodes without a word.
            let audio = out + "/audio/customer-s2.opus"
            let audioFile = try #require(FileManager.default.contents(atPath: audio))
            #expect(try OggPageReader.opusPackets(audioFile) == packets)
            let probedAudio = try await FFmpegMedia.probe(audio)
            #expect(probedAudio.codec == "opus" && probedAudio.channels == 1 && probedAudio.sampleRate == 48_000)
            #expect(probedAudio.packets == packets.count)
            #expect(abs((probedAudio.duration ?? 0) - 2) < 0.1, "duration \(probedAudio.duration ?? -1)")
            let errors = try await FFmpegMedia.decodingErrors(audio)
            #expect(errors == nil, "\(errors ?? "")")

            // The overlay timeline: the state at the start, then each change, in order.
            let text = try String(contentsOfFile: out + "/overlays.jsonl", encoding: .utf8)
            #expect(text.hasSuffix("\n") && !text.contains("\u{1B}"))
            let lines = text.split(separator: "\n")
            #expect(lines.allSatisfy { $0.hasPrefix(#"{"at":""#) })
            let objects = try lines.map { line in
                guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                    throw TestFailure("not a JSON object: \(line)")
                }
                return object
            }
            let messages = objects.map { $0["message"] as? [String: Any] ?? [:] }
            let types = messages.map { $0["type"] as? String ?? "-" }
            #expect(
                types == [
                    "stream.start", "overlay.snapshot", "stream.start", "stream.start", "annotation", "annotation", "freeze", "unfreeze",
                    "stream.stop",
                ]
            )
            #expect(
                objects.map { $0["from"] as? String ?? "-" } == [
                    "agent", "agent", "customer", "customer", "agent", "agent", "agent", "agent", "customer",
                ]
            )
            let times = objects.map { Int("\($0["t"] ?? "-")") ?? -1 }
            #expect(times.first == 0 && times == times.sorted(), "\(times)")
            let formatter = ISO8601DateFormatter()
            #expect(objects.allSatisfy { ($0["at"] as? String).flatMap(formatter.date(from:)) != nil })
            let texts = messages.compactMap { ($0["shape"] as? [String: Any])?["text"] as? String }
            #expect(texts == [note])
            #expect("\(messages[1]["streamId"] ?? "-")" == "9")
            #expect((messages[1]["shapes"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["welcome"])
        }
    }

    @Test("join --save-frames: the agent's H.264 as agent-s1.h264, its voice as agent-s2.opus and, announced again, agent-s2-2.opus")
    func saved() async throws {
        guard await FFmpegMedia.available() else { return }
        let units = try await FFmpegMedia.h264AccessUnits(frames: 30)
        let packets = try await FFmpegMedia.opusPackets(seconds: 2)
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let agent = LiveParticipant.connect(broker, hello: .agent(token: alice, start: .init(ticket: "HD-SAVE-AV", mode: .camera)))
            let created = try await agent.waitFor("session.created") { if case .sessionCreated(let created) = $0 { created } else { nil } }
            let saved = broker.directory + "/saved-\(UUID().uuidString)"
            let server = ["--server", "https://127.0.0.1:\(broker.port)", "--ca", broker.caFile]
            let customer = try CLIProcess.start(
                ["join", created.joinCode, "--consent", "no", "--save-frames", saved] + server,
                token: "",
                in: broker.directory
            )
            defer { customer.stop() }
            try await agent.waitFor("peer.joined") { if case .peerJoined(let joined) = $0 { joined } else { nil } }
            try await Self.turnVoiceOn(agent: agent, customer: nil)
            try await agent.send(
                .streamStart(
                    StreamStart(streamID: 1, source: .screen, codec: .h264, width: 320, height: 240, fps: 15, decoderConfig: Self.h264Config)
                )
            )
            let audio = StreamStart(streamID: 2, source: .microphone, codec: .opus, width: 0, height: 0, fps: 50, decoderConfig: Self.opusConfig)
            try await agent.send(.streamStart(audio))
            try await Self.send(agent, accessUnits: units[...], packets: packets[..<90])
            // The voice announced again: the rest goes into a second file. Control messages and
            // frames travel in separate lanes, so a stream.start can overtake frames still queued
            // for a loaded receiver: let those arrive first (a real client pauses between calls).
            try await Task.sleep(for: .milliseconds(500))
            try await agent.send(.streamStart(audio))
            try await Self.send(agent, accessUnits: [], packets: packets[90...])
            try await Task.sleep(for: .milliseconds(300))
            try await agent.send(.sessionEnd(SessionEnd(outcome: .resolved)))
            #expect(try await customer.waitForExit(seconds: 30) == 0, "\(customer.text)")

            // On a loaded machine a receiver may lose frames (video: up to the next keyframe):
            // what was saved plays, and is what was sent, in order.
            let video = saved + "/agent-s1.h264"
            let written = try #require(FileManager.default.contents(atPath: video), "\(customer.text)")
            let probedVideo = try await FFmpegMedia.probe(video, countFrames: true)
            #expect(probedVideo.codec == "h264" && probedVideo.width == 320 && probedVideo.height == 240)
            #expect((1...30).contains(probedVideo.frames ?? 0))
            let keyframes = units.filter { VideoKeyframe.isKeyframe($0, codec: .h264) }
            #expect(keyframes.count == 3)
            #expect(keyframes.contains { written.starts(with: Data($0.readableBytesView)) }, "the saved stream opens with an IDR access unit")
            #expect(written.count <= units.reduce(0) { $0 + $1.readableBytes })

            for (name, sent) in [("agent-s2.opus", packets[..<90]), ("agent-s2-2.opus", packets[90...])] {
                let path = saved + "/" + name
                let file = try #require(FileManager.default.contents(atPath: path), "\(name): \(customer.text)")
                let kept = try OggPageReader.opusPackets(file)
                #expect(!kept.isEmpty && kept.count <= sent.count, "\(name)")
                // Each kept packet is one that was sent, after the one kept before it.
                var remaining = sent
                var inOrder = true
                for packet in kept {
                    guard let found = remaining.firstIndex(of: packet) else {
                        inOrder = false
                        break
                    }
                    remaining = remaining[(found + 1)...]
                }
                #expect(inOrder, "\(name)")
                let probed = try await FFmpegMedia.probe(path)
                #expect(probed.codec == "opus" && probed.packets == kept.count, "\(name)")
                #expect(abs((probed.duration ?? 0) - Double(kept.count) * 0.02) < 0.05, "\(name): \(probed.duration ?? -1)")
                let errors = try await FFmpegMedia.decodingErrors(path)
                #expect(errors == nil, "\(name): \(errors ?? "")")
            }
        }
    }
}
