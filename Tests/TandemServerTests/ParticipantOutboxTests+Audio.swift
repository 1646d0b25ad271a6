import NIOCore
import TandemProtocol
import Testing

@testable import TandemServer

/// Audio's own lane in each receiver's outbox (protocol/README.md §5.9): at most 10 frames,
/// oldest dropped first, written before video, never counted against the video frames.
@Suite("ParticipantOutbox: audio has a lane of its own")
struct ParticipantOutboxAudioTests {
    let tests = ParticipantOutboxTests()

    func outbox() -> ParticipantOutbox {
        ParticipantOutbox(limits: .init(mediaCapacity: 3, controlCapacity: 10, audioCapacity: 4))
    }

    @Test("queued audio goes out before queued video, control before both")
    func audioFirst() {
        let outbox = outbox()
        _ = outbox.enqueue(media: tests.frame(1), streamID: 1, keyframe: true)
        _ = outbox.enqueue(media: tests.frame(2), streamID: 1, keyframe: false)
        _ = outbox.enqueue(media: tests.frame(50), streamID: 2, keyframe: true, audio: true)
        _ = outbox.enqueue(control: #"{"type":"chat"}"#)
        #expect(tests.drain(outbox) == [#"{"type":"chat"}"#, "frame 50", "frame 1", "frame 2"])
    }

    @Test("a full audio lane drops its oldest audio, and video keeps all its frames")
    func audioLaneBound() {
        let outbox = outbox()
        for byte in UInt8(1)...3 { _ = outbox.enqueue(media: tests.frame(byte), streamID: 1, keyframe: byte == 1) }
        var dropped: [UInt16: Int] = [:]
        for byte in UInt8(50)...55 {
            let result = outbox.enqueue(media: tests.frame(byte), streamID: 2, keyframe: true, audio: true)
            #expect(result.keyframeRequests.isEmpty)
            dropped.merge(result.dropped, uniquingKeysWith: +)
        }
        #expect(dropped == [2: 2])
        #expect(outbox.queuedFrames == 7)
        #expect(tests.drain(outbox) == ["frame 52", "frame 53", "frame 54", "frame 55", "frame 1", "frame 2", "frame 3"])
    }

    @Test("a full video queue never drops audio")
    func videoDoesNotEvictAudio() {
        let outbox = outbox()
        _ = outbox.enqueue(media: tests.frame(50), streamID: 2, keyframe: true, audio: true)
        var dropped: [UInt16: Int] = [:]
        for byte in UInt8(1)...6 {
            dropped.merge(outbox.enqueue(media: tests.frame(byte), streamID: 1, keyframe: true).dropped, uniquingKeysWith: +)
        }
        #expect(dropped == [1: 3])
        #expect(tests.drain(outbox) == ["frame 50", "frame 4", "frame 5", "frame 6"])
    }

    @Test("discarding the media empties both lanes and counts both")
    func discardBoth() {
        let outbox = outbox()
        _ = outbox.enqueue(media: tests.frame(1), streamID: 1, keyframe: true)
        _ = outbox.enqueue(media: tests.frame(50), streamID: 2, keyframe: true, audio: true)
        _ = outbox.enqueue(media: tests.frame(51), streamID: 2, keyframe: true, audio: true)
        #expect(outbox.discardMedia() == [1: 1, 2: 2])
        #expect(outbox.queuedFrames == 0)
    }
}
