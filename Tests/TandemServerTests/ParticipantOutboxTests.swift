import NIOCore
import TandemProtocol
import Testing

@testable import TandemServer

@Suite("ParticipantOutbox: bounded, keyframe-aware, control never dropped")
struct ParticipantOutboxTests {
    func frame(_ byte: UInt8) -> ByteBuffer { ByteBuffer(bytes: [byte]) }

    func drain(_ outbox: ParticipantOutbox) -> [String] {
        outbox.finish(.normal)
        var items: [String] = []
        while true {
            switch outbox.pop() {
            case .text(let text): items.append(String(buffer: text))
            case .binary(let buffer): items.append("frame \(buffer.getInteger(at: 0, as: UInt8.self)!)")
            case .close, nil: return items
            }
        }
    }

    @Test("latest frames win for image codecs: the oldest is dropped, no keyframe request")
    func imageFrames() async {
        let outbox = ParticipantOutbox(limits: .init(mediaCapacity: 3, controlCapacity: 10))
        for byte in UInt8(1)...5 {
            let result = outbox.enqueue(media: frame(byte), streamID: 1, keyframe: true)
            #expect(result.keyframeRequests.isEmpty)
        }
        #expect(outbox.queuedFrames == 3)
        #expect(drain(outbox) == ["frame 3", "frame 4", "frame 5"])
    }

    @Test("losing a delta frame drops its dependants, skips to the next keyframe and asks for one once")
    func deltaFrames() async {
        let outbox = ParticipantOutbox(limits: .init(mediaCapacity: 3, controlCapacity: 10))
        _ = outbox.enqueue(media: frame(1), streamID: 1, keyframe: true)
        _ = outbox.enqueue(media: frame(2), streamID: 1, keyframe: false)
        _ = outbox.enqueue(media: frame(3), streamID: 1, keyframe: false)
        // Full: frame 1 goes, and 2 and 3 depended on it; the new delta cannot be decoded either.
        let overflow = outbox.enqueue(media: frame(4), streamID: 1, keyframe: false)
        #expect(overflow.dropped == [1: 4])
        #expect(overflow.keyframeRequests == [1])
        // Until a keyframe arrives, deltas are dropped and no further request is made at once.
        let waiting = outbox.enqueue(media: frame(5), streamID: 1, keyframe: false)
        #expect(waiting.dropped == [1: 1])
        #expect(waiting.keyframeRequests.isEmpty)
        #expect(outbox.enqueue(media: frame(6), streamID: 1, keyframe: true).dropped.isEmpty)
        #expect(outbox.enqueue(media: frame(7), streamID: 1, keyframe: false).dropped.isEmpty)
        #expect(drain(outbox) == ["frame 6", "frame 7"])
    }

    @Test("a later queued keyframe limits what is dropped; other streams are untouched")
    func queuedKeyframe() async {
        let outbox = ParticipantOutbox(limits: .init(mediaCapacity: 4, controlCapacity: 10))
        _ = outbox.enqueue(media: frame(1), streamID: 1, keyframe: false)
        _ = outbox.enqueue(media: frame(2), streamID: 2, keyframe: true)
        _ = outbox.enqueue(media: frame(3), streamID: 1, keyframe: false)
        _ = outbox.enqueue(media: frame(4), streamID: 1, keyframe: true)
        let result = outbox.enqueue(media: frame(5), streamID: 2, keyframe: true)
        #expect(result.dropped == [1: 2])
        #expect(result.keyframeRequests.isEmpty)
        #expect(drain(outbox) == ["frame 2", "frame 4", "frame 5"])
    }

    @Test("control messages are never dropped and go first; past the hard limit the recipient is closed as too slow")
    func control() async {
        let outbox = ParticipantOutbox(limits: .init(mediaCapacity: 2, controlCapacity: 3))
        _ = outbox.enqueue(media: frame(9), streamID: 1, keyframe: true)
        #expect(outbox.enqueue(control: "a") == .queued)
        #expect(outbox.enqueue(control: "b") == .queued)
        #expect(outbox.enqueue(control: "c") == .queued)
        #expect(drain(outbox) == ["a", "b", "c", "frame 9"])
        let slow = ParticipantOutbox(limits: .init(mediaCapacity: 2, controlCapacity: 2))
        _ = slow.enqueue(control: "a")
        _ = slow.enqueue(control: "b")
        #expect(slow.enqueue(control: "c") == .overflow)
        #expect(slow.enqueue(control: "d") == .closed)
        guard case .close(let code, _) = slow.pop() else {
            Issue.record("expected the close")
            return
        }
        #expect(code == .slowConsumer)
    }
}
