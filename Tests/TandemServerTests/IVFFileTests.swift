import Foundation
import NIOCore
import TandemClient
import TandemProtocol
import Testing

/// IVF files (`join --source FILE.ivf`, `--save-frames`) against ffmpeg's own: clips that
/// ffmpeg encodes are read frame by frame with the keyframes ffprobe reports, and a file
/// written here is one ffprobe reads. ffmpeg comes from Debian (scripts/test.sh installs it).
@Suite("IVF files: ffmpeg's VP8, VP9 and AV1 clips read back as ffprobe sees them")
struct IVFFileTests {
    static let encoders: [(MediaCodec, [String])] = [
        (.vp8, ["-c:v", "libvpx", "-b:v", "300k"]),
        (.vp9, ["-c:v", "libvpx-vp9", "-b:v", "300k", "-deadline", "realtime", "-cpu-used", "8"]),
        (.av1, ["-c:v", "libaom-av1", "-b:v", "300k", "-cpu-used", "8", "-lag-in-frames", "0"]),
    ]

    /// 30 frames of ffmpeg's moving test picture, 320 × 240 at 15 fps, a keyframe every 10.
    static func clip(_ encoder: [String]) async throws -> String {
        let path = NSTemporaryDirectory() + "tandem-clip-\(UUID().uuidString).ivf"
        let arguments = ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=15", "-frames:v", "30", "-g", "10"]
        let child = try await ChildProcess.run(arguments + encoder + ["-f", "ivf", path])
        guard child.status == 0, FileManager.default.fileExists(atPath: path) else {
            throw TestFailure("ffmpeg \(encoder.joined(separator: " ")) failed: \(String(decoding: child.stderr, as: UTF8.self))")
        }
        return path
    }

    /// ffprobe's key-frame flag of every video packet of `path`.
    static func probedKeyframes(_ path: String) async throws -> [Bool] {
        let child = try await ChildProcess.run([
            "ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "packet=flags", "-of", "csv=p=0", path,
        ])
        guard child.status == 0 else { throw TestFailure("ffprobe failed: \(String(decoding: child.stderr, as: UTF8.self))") }
        return String(decoding: child.stdout, as: UTF8.self).split(separator: "\n").map { $0.hasPrefix("K") }
    }

    @Test("every frame, the size, the rate, and keyframes exactly where ffprobe finds them")
    func clips() async throws {
        for (codec, encoder) in Self.encoders {
            let path = try await Self.clip(encoder)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let file = try IVFFile(contentsOf: path)
            #expect(file.codec == codec)
            #expect(file.width == 320 && file.height == 240)
            #expect(file.frames.count == 30)
            let probed = try await Self.probedKeyframes(path)
            #expect(file.frames.map(\.keyframe) == probed, "\(codec.name)")
            #expect(probed.filter { $0 }.count >= 3, "\(codec.name): a keyframe every 10 frames")
            #expect(abs((file.framesPerSecond ?? 0) - 15) < 0.5)
        }
    }

    @Test("a file written here reads back frame for frame, and ffprobe reads it too")
    func writeThenRead() async throws {
        let source = try await Self.clip(Self.encoders[0].1)
        defer { try? FileManager.default.removeItem(atPath: source) }
        let original = try IVFFile(contentsOf: source)
        var written = IVFFile.header(codec: .vp8, width: 320, height: 240, frameCount: UInt32(original.frames.count))
        for (index, frame) in original.frames.enumerated() {
            var record = IVFFile.frameRecord(frame.payload, timestampMicros: UInt64(index) * 66_667)
            written.writeBuffer(&record)
        }
        let path = NSTemporaryDirectory() + "tandem-written-\(UUID().uuidString).ivf"
        defer { try? FileManager.default.removeItem(atPath: path) }
        FileManager.default.createFile(atPath: path, contents: Data(written.readableBytesView))
        let again = try IVFFile(contentsOf: path)
        #expect(again.frames.map(\.payload) == original.frames.map(\.payload))
        #expect(again.frames.map(\.keyframe) == original.frames.map(\.keyframe))
        #expect(try await Self.probedKeyframes(path) == original.frames.map(\.keyframe))
    }

    @Test("what is not an IVF file, or is cut short, is refused with a clear message")
    func refused() {
        #expect(throws: IVFFile.Error.self) { try IVFFile(bytes: ByteBuffer(string: "RIFF\0\0\0\0WAVE")) }
        var truncated = IVFFile.header(codec: .vp8, width: 2, height: 2, frameCount: 1)
        truncated.writeInteger(UInt32(100), endianness: .little)
        truncated.writeInteger(UInt64(0), endianness: .little)
        truncated.writeString("short")
        do {
            _ = try IVFFile(bytes: truncated)
            Issue.record("a truncated frame was accepted")
        } catch {
            #expect("\(error)".contains("truncated"))
        }
        #expect(throws: IVFFile.Error.self) { try IVFFile(bytes: IVFFile.header(codec: .vp8, width: 2, height: 2, frameCount: 0)) }
    }
}

/// `tandem join --source FILE.ivf` streams a VP8 clip at its own rate with its keyframes
/// flagged and the decoder configuration announced; `--save-frames` writes the agent's VP8
/// stream as an IVF file ffprobe reads, frame for frame.
@Suite("Live TLS broker: the CLI streams and saves IVF video", .timeLimit(.minutes(2)))
struct IVFStreamingTests {
    @Test("join --source clip.ivf: VP8 frames with ffprobe's keyframes; --save-frames: an IVF ffprobe reads")
    func joinWithClip() async throws {
        let clip = try await IVFFileTests.clip(IVFFileTests.encoders[0].1)
        defer { try? FileManager.default.removeItem(atPath: clip) }
        let probed = try await IVFFileTests.probedKeyframes(clip)
        let source = try FrameSource(clip)
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let agent = LiveParticipant.connect(broker, hello: .agent(token: alice, start: .init(ticket: "HD-IVF", mode: .camera)))
            let created = try await agent.waitFor("session.created") { if case .sessionCreated(let created) = $0 { created } else { nil } }
            let saved = broker.directory + "/saved-\(UUID().uuidString)"
            let server = ["--server", "https://127.0.0.1:\(broker.port)", "--ca", broker.caFile]
            let customer = try CLIProcess.start(
                ["join", created.joinCode, "--consent", "yes", "--source", clip, "--save-frames", saved] + server,
                token: "",
                in: broker.directory
            )
            defer { customer.stop() }
            // The customer's stream: announced as VP8 at the clip's rate, with its decoder configuration.
            let start = try await agent.waitFor("stream.start") { if case .streamStart(let start) = $0 { start } else { nil } }
            #expect(start.codec == .vp8)
            #expect(start.width == 320 && start.height == 240)
            #expect(abs(start.fps - 15) < 0.5)
            #expect(start.decoderConfig == DecoderConfig(codec: "vp8"))
            // The agent shows the customer VP8 too, at the clip's rate; the CLI saves it.
            try await agent.send(.streamStart(StreamStart(streamID: 1, source: .screen, codec: .vp8, width: 320, height: 240, fps: 15)))
            // At the clip's rate until the customer's CLI has saved some (a loaded machine may
            // drop the first ones as stale before the CLI reads them), at most 10 s.
            let file = saved + "/agent-s1.ivf"
            var sent = 0
            while sent < 20 || ((try? IVFFile(contentsOf: file).frames.isEmpty) ?? true) && sent < 150 {
                try await agent.send(source.frame(sent))
                sent += 1
                try await Task.sleep(for: .milliseconds(66))
            }
            try await agent.waitForFrames(10, seconds: 30)
            // The agent ends the session; the customer's CLI leaves with it.
            try await agent.send(.sessionEnd(SessionEnd(outcome: .resolved)))
            #expect(try await customer.waitForExit(seconds: 30) == 0)
            // On a loaded machine a receiver may lose frames (and the delta frames after them,
            // up to the next keyframe): what arrives must carry the clip's keyframe flags.
            let frames = agent.frames.filter { $0.header.streamID == 1 }
            #expect(frames.count >= 10)
            #expect(frames.allSatisfy { $0.header.codec == .vp8 })
            #expect(frames.allSatisfy { $0.header.isKeyframe == probed[Int($0.header.sequence) % probed.count] })
            #expect(frames.first?.header.isKeyframe == true)
            let written = try IVFFile(contentsOf: file)
            #expect(written.codec == .vp8 && written.width == 320 && written.height == 240)
            #expect((1...sent).contains(written.frames.count))
            #expect(written.frames.first?.keyframe == true)
            #expect(try await IVFFileTests.probedKeyframes(file) == written.frames.map(\.keyframe))
        }
    }
}
