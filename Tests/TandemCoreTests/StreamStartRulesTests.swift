import TandemCore
import TandemProtocol
import Testing

/// `stream.start` rules beyond the JSON types (protocol/README.md §5.9): which source goes
/// with which codec, audio's 0 × 0 size, the decoder configuration's limits.
@Suite("stream.start: audio and video, decoder configuration")
struct StreamStartRulesTests {
    func start(
        _ codec: MediaCodec,
        _ source: StreamSource,
        width: Int = 1280,
        height: Int = 720,
        fps: Double = 30,
        config: DecoderConfig? = nil
    ) -> Result<StreamStart, SessionActivity.Rejection> {
        var activity = SessionActivity()
        let start = StreamStart(streamID: 1, source: source, codec: codec, width: width, height: height, fps: fps, decoderConfig: config)
        return activity.start(start, by: .customer)
    }

    @Test("an opus stream from the microphone, 0 × 0 at 50 packets a second, with its decoder configuration")
    func audioStream() throws {
        let config = DecoderConfig(codec: "opus", sampleRate: 48_000, numberOfChannels: 1)
        let started = try start(.opus, .microphone, width: 0, height: 0, fps: 50, config: config).get()
        #expect(started.decoderConfig == config)
        #expect(started.owner == .customer)
    }

    @Test("video codecs from a camera or a screen, with or without a decoder configuration")
    func videoStreams() throws {
        for codec in [MediaCodec.jpeg, .h264, .vp8, .vp9, .av1] {
            #expect(throws: Never.self) { try start(codec, .camera).get() }
        }
        #expect(throws: Never.self) { try start(.vp9, .screen, config: DecoderConfig(codec: "vp09.00.10.08")).get() }
    }

    @Test("a stream announced again keeps its kind: video stays video, audio stays audio, until it stops")
    func keepsKind() {
        var activity = SessionActivity()
        let video = StreamStart(streamID: 1, source: .camera, codec: .vp8, width: 640, height: 480, fps: 15)
        let audio = StreamStart(streamID: 1, source: .microphone, codec: .opus, width: 0, height: 0, fps: 50)
        #expect((try? activity.start(video, by: .customer).get()) != nil)
        #expect(activity.start(audio, by: .customer) == .failure(.invalidField("codec")))
        var vp9 = video
        vp9.codec = .vp9
        #expect((try? activity.start(vp9, by: .customer).get()) != nil)
        #expect((try? activity.change(StreamRef(streamID: 1), by: .customer, stopping: true).get()) != nil)
        #expect((try? activity.start(audio, by: .customer).get()) != nil)
    }

    @Test("codec and source must go together")
    func pairing() {
        #expect(start(.opus, .camera, width: 0, height: 0) == .failure(.invalidField("source")))
        #expect(start(.vp8, .microphone) == .failure(.invalidField("codec")))
    }

    @Test("audio is 0 × 0; video is 1 to 16384 each way; fps above 0 and at most 240")
    func sizes() {
        #expect(start(.opus, .microphone, width: 640, height: 0) == .failure(.invalidField("width")))
        #expect(start(.vp8, .camera, width: 0, height: 0) == .failure(.invalidField("width")))
        #expect(start(.vp8, .camera, width: 16_385) == .failure(.invalidField("width")))
        #expect(start(.opus, .microphone, width: 0, height: 0, fps: 0) == .failure(.invalidField("fps")))
    }

    @Test("the decoder configuration's limits")
    func configLimits() {
        let long = String(repeating: "a", count: 65)
        #expect(start(.vp8, .camera, config: DecoderConfig(codec: long)) == .failure(.invalidField("decoderConfig.codec")))
        #expect(start(.vp8, .camera, config: DecoderConfig(codec: "")) == .failure(.invalidField("decoderConfig.codec")))
        let description = String(repeating: "A", count: 4100)
        #expect(
            start(.h264, .screen, config: DecoderConfig(codec: "avc1.42E01F", description: description))
                == .failure(.invalidField("decoderConfig.description"))
        )
        #expect(
            start(.opus, .microphone, width: 0, height: 0, fps: 50, config: DecoderConfig(codec: "opus", sampleRate: 96_000))
                == .failure(.invalidField("decoderConfig.sampleRate"))
        )
        #expect(
            start(.opus, .microphone, width: 0, height: 0, fps: 50, config: DecoderConfig(codec: "opus", numberOfChannels: 6))
                == .failure(.invalidField("decoderConfig.numberOfChannels"))
        )
    }

    @Test("consent with source microphone is the answer about the microphone (§5.14), not about sharing")
    func consentSource() throws {
        guard case .consent(let consent) = try ControlMessage.decode(text: #"{"granted":true,"source":"microphone","type":"consent"}"#) else {
            Issue.record("not a consent")
            return
        }
        #expect(consent.isMicrophone)
        #expect(!Consent(granted: true, source: .camera).isMicrophone)
        #expect(throws: ProtocolError.invalidField("source")) {
            try ControlMessage.decode(text: #"{"granted":true,"source":"speaker","type":"consent"}"#)
        }
    }
}
