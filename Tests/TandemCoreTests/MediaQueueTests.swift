import TandemCore
import Testing

/// The media queue policy, one step at a time (frames are labelled strings, 10 bytes each).
@Suite("Media queue: bounded, latest frames win, keyframe-aware")
struct MediaQueueTests {
    let t0 = ContinuousClock.now

    @Test("below capacity every frame is queued and delivered in order")
    func inOrder() {
        var queue = MediaQueue<String>(capacity: 3)
        #expect(queue.enqueue("k1", bytes: 10, streamID: 1, keyframe: true, now: t0) == .init(queued: true))
        #expect(queue.enqueue("d1", bytes: 10, streamID: 1, keyframe: false, now: t0) == .init(queued: true))
        #expect(queue.popFirst(now: t0).entry?.frame == "k1")
        #expect(queue.popFirst(now: t0).entry?.frame == "d1")
        #expect(queue.popFirst(now: t0).entry == nil)
    }

    @Test("when full, the oldest frame goes with the frames of its stream up to the next keyframe")
    func dropsDependants() {
        var queue = MediaQueue<String>(capacity: 4)
        _ = queue.enqueue("a-k1", bytes: 10, streamID: 1, keyframe: true, now: t0)
        _ = queue.enqueue("a-d1", bytes: 10, streamID: 1, keyframe: false, now: t0)
        _ = queue.enqueue("a-k2", bytes: 10, streamID: 1, keyframe: true, now: t0)
        _ = queue.enqueue("b-k1", bytes: 10, streamID: 2, keyframe: true, now: t0)
        #expect(queue.enqueue("b-d1", bytes: 10, streamID: 2, keyframe: false, now: t0) == .init(queued: true, dropped: [1: 2], removedBytes: 20))
        #expect(queue.count == 3)
        #expect(queue.popFirst(now: t0).entry?.frame == "a-k2")
    }

    @Test("a stream that lost a frame with no keyframe queued waits for one and asks for it, at most every interval")
    func waitsForKeyframe() {
        var queue = MediaQueue<String>(capacity: 1, keyframeRequestInterval: .milliseconds(500))
        _ = queue.enqueue("a-k1", bytes: 10, streamID: 1, keyframe: true, now: t0)
        #expect(
            queue.enqueue("b-d1", bytes: 10, streamID: 2, keyframe: false, now: t0)
                == .init(queued: true, dropped: [1: 1], keyframeRequests: [1], removedBytes: 10)
        )
        #expect(queue.enqueue("a-d2", bytes: 10, streamID: 1, keyframe: false, now: t0 + .milliseconds(100)) == .init(dropped: [1: 1]))
        #expect(
            queue.enqueue("a-d3", bytes: 10, streamID: 1, keyframe: false, now: t0 + .milliseconds(600))
                == .init(dropped: [1: 1], keyframeRequests: [1])
        )
        #expect(queue.enqueue("a-k4", bytes: 10, streamID: 1, keyframe: true, now: t0 + .milliseconds(700)).queued)
        #expect(queue.popFirst(now: t0).entry?.frame == "a-k4")
    }

    @Test("a frame lost before the queue (over the sender's rate) makes the stream wait for a keyframe too")
    func skipToKeyframe() {
        var queue = MediaQueue<String>(capacity: 8)
        queue.skipToKeyframe(streamID: 3)
        #expect(queue.enqueue("d", bytes: 10, streamID: 3, keyframe: false, now: t0) == .init(dropped: [3: 1], keyframeRequests: [3]))
        #expect(queue.enqueue("k", bytes: 10, streamID: 3, keyframe: true, now: t0).queued)
    }

    @Test("emptying the queue reports what it held")
    func removeAll() {
        var queue = MediaQueue<String>(capacity: 8)
        _ = queue.enqueue("a", bytes: 10, streamID: 1, keyframe: true, now: t0)
        _ = queue.enqueue("b", bytes: 7, streamID: 2, keyframe: true, now: t0)
        let removed = queue.removeAll()
        #expect(removed.dropped == [1: 1, 2: 1])
        #expect(removed.bytes == 17)
        #expect(queue.isEmpty)
    }

    @Test("a frame that waited longer than maxAge is dropped at delivery, with the frames that depend on it")
    func staleFrames() {
        var queue = MediaQueue<String>(capacity: 8, maxAge: .seconds(1))
        _ = queue.enqueue("a-k1", bytes: 10, streamID: 1, keyframe: true, now: t0)
        _ = queue.enqueue("a-d1", bytes: 10, streamID: 1, keyframe: false, now: t0 + .milliseconds(100))
        _ = queue.enqueue("b-k1", bytes: 10, streamID: 2, keyframe: true, now: t0 + .milliseconds(900))
        let popped = queue.popFirst(now: t0 + .milliseconds(1050))
        #expect(popped.entry?.frame == "b-k1")
        #expect(popped.dropped == [1: 2])
        #expect(popped.removedBytes == 20)
        #expect(queue.isEmpty)
    }

    @Test("a stream whose stale frames were dropped waits for its next keyframe and asks for it")
    func staleWaitsForKeyframe() {
        var queue = MediaQueue<String>(capacity: 8, maxAge: .seconds(1))
        _ = queue.enqueue("a-k1", bytes: 10, streamID: 1, keyframe: true, now: t0)
        #expect(queue.popFirst(now: t0 + .seconds(2)).dropped == [1: 1])
        #expect(
            queue.enqueue("a-d2", bytes: 10, streamID: 1, keyframe: false, now: t0 + .seconds(2)) == .init(dropped: [1: 1], keyframeRequests: [1])
        )
        #expect(queue.enqueue("a-k3", bytes: 10, streamID: 1, keyframe: true, now: t0 + .seconds(2)).queued)
        #expect(queue.popFirst(now: t0 + .seconds(2)).entry?.frame == "a-k3")
    }

    @Test("a frame younger than maxAge is delivered")
    func freshFrame() {
        var queue = MediaQueue<String>(capacity: 8, maxAge: .seconds(1))
        _ = queue.enqueue("a-k1", bytes: 10, streamID: 1, keyframe: true, now: t0)
        #expect(queue.popFirst(now: t0 + .milliseconds(999)).entry?.frame == "a-k1")
    }
}
