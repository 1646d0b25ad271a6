import Foundation
import TandemCore
import TandemProtocol
import Testing

@Suite("OverlayState and SessionActivity, step by step")
struct OverlayStateTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func add(
        _ id: String,
        _ kind: Shape.Kind = .arrow,
        points: [[Double]] = [[0.1, 0.1], [0.2, 0.2]],
        ttlMs: Int? = nil,
        text: String? = nil
    ) -> Annotation {
        .add(Shape(id: id, kind: kind, points: points, text: text, ttlMs: ttlMs), owner: .customer, streamID: 1)
    }

    @Test("add, append, undo, remove and clear keep the overlay in drawing order")
    func operations() throws {
        var overlay = OverlayState()
        let arrow = try overlay.apply(add("a1"), by: .agent, now: t0).get()
        #expect(arrow.author == .agent)
        #expect(arrow.shape?.author == .agent)
        _ = try overlay.apply(add("s1", .stroke, points: [[0.5, 0.5]]), by: .agent, now: t0).get()
        _ = try overlay.apply(
            Annotation(op: .append, owner: .customer, streamID: 1, id: "s1", points: [[0.6, 0.6], [0.7, 0.7]]),
            by: .agent,
            now: t0
        ).get()
        #expect(overlay.shapes(at: t0).map(\.id) == ["a1", "s1"])
        #expect(overlay.shapes(at: t0).last?.points.count == 3)
        _ = try overlay.apply(add("c1", .ellipse), by: .customer, now: t0).get()
        let undo = try overlay.apply(Annotation(op: .undo, owner: .customer, streamID: 1), by: .agent, now: t0).get()
        #expect(undo.id == "s1")
        #expect(overlay.shapes(at: t0).map(\.id) == ["a1", "c1"])
        _ = try overlay.apply(Annotation(op: .remove, owner: .customer, streamID: 1, id: "a1"), by: .customer, now: t0).get()
        #expect(overlay.shapes(at: t0).map(\.id) == ["c1"])
        _ = try overlay.apply(Annotation(op: .clear, owner: .customer, streamID: 1), by: .agent, now: t0).get()
        #expect(overlay.shapes(at: t0).isEmpty)
    }

    @Test("invalid shapes, other authors' strokes and unknown ids are refused")
    func refusals() {
        var overlay = OverlayState()
        #expect(overlay.apply(add("x", points: [[0.1, 0.1]]), by: .agent, now: t0) == .failure(.invalidField("shape.points")))
        #expect(overlay.apply(add("x", points: [[0.1, 0.1], [1.5, 0.2]]), by: .agent, now: t0) == .failure(.invalidField("shape.points")))
        #expect(overlay.apply(add("x", .text, points: [[0.1, 0.1]]), by: .agent, now: t0) == .failure(.invalidField("shape.text")))
        var badColor = add("x")
        badColor.shape?.color = "red"
        #expect(overlay.apply(badColor, by: .agent, now: t0) == .failure(.invalidField("shape.color")))
        #expect(overlay.apply(add("s", .stroke, points: [[0.5, 0.5]]), by: .agent, now: t0).map(\.op) == .success(.add))
        #expect(
            overlay.apply(Annotation(op: .append, owner: .customer, streamID: 1, id: "s", points: [[0.1, 0.1]]), by: .customer, now: t0)
                == .failure(.notAuthor)
        )
        #expect(overlay.apply(Annotation(op: .remove, owner: .customer, streamID: 1, id: "nope"), by: .agent, now: t0) == .failure(.unknownShape))
        #expect(overlay.apply(Annotation(op: .undo, owner: .customer, streamID: 1), by: .customer, now: t0) == .failure(.unknownShape))
    }

    @Test("pointers are relayed but not kept; shapes with a time-to-live disappear")
    func ephemeral() throws {
        var overlay = OverlayState()
        _ = try overlay.apply(add("p", .pointer, points: [[0.3, 0.3]]), by: .agent, now: t0).get()
        #expect(overlay.isEmpty)
        _ = try overlay.apply(add("t", .text, points: [[0.3, 0.3]], ttlMs: 2000, text: "here"), by: .agent, now: t0).get()
        #expect(overlay.shapes(at: t0.addingTimeInterval(1.9)).map(\.id) == ["t"])
        #expect(overlay.shapes(at: t0.addingTimeInterval(2)).isEmpty)
    }

    @Test("the overlay is bounded")
    func bounded() {
        var overlay = OverlayState()
        for index in 0..<OverlayState.maxShapes {
            _ = overlay.apply(add("a\(index)"), by: .agent, now: t0)
        }
        #expect(overlay.apply(add("one-more"), by: .agent, now: t0) == .failure(.overlayFull))
    }

    @Test("a joining customer's catch-up holds the agent's streams and every overlay with its freeze")
    func catchUp() throws {
        var activity = SessionActivity()
        let start = StreamStart(streamID: 2, source: .screen, codec: .jpeg, width: 1280, height: 720, fps: 10)
        #expect(try activity.start(start, by: .agent).get().owner == .agent)
        _ = try activity.start(StreamStart(streamID: 1, source: .camera, codec: .jpeg, width: 640, height: 480, fps: 10), by: .customer).get()
        _ = try activity.annotate(add("a1"), by: .agent, now: t0).get()
        _ = try activity.freeze(Freeze(owner: .customer, streamID: 1, sequence: 42), by: .agent, freezing: true).get()
        let messages = activity.catchUp(for: .customer, now: t0)
        #expect(messages.count == 2)
        #expect(
            messages.first == .streamStart(StreamStart(streamID: 2, source: .screen, codec: .jpeg, width: 1280, height: 720, fps: 10, owner: .agent))
        )
        guard case .overlaySnapshot(let snapshot) = messages.last else {
            Issue.record("no snapshot")
            return
        }
        #expect(snapshot.frozenSequence == 42)
        #expect(snapshot.shapes.map(\.id) == ["a1"])
        #expect(activity.annotations == 1)
        #expect(activity.freezes == 1)
        // The agent gets the customer's stream and its overlay.
        #expect(activity.catchUp(for: .agent, now: t0).count == 2)
        _ = try activity.freeze(Freeze(owner: .customer, streamID: 1), by: .customer, freezing: false).get()
        #expect(activity.overlays[StreamKey(owner: .customer, streamID: 1)]?.frozenSequence == nil)
    }

    @Test("streams are bounded per participant and stats count relayed and dropped frames")
    func streams() {
        var activity = SessionActivity()
        for id in 0..<UInt16(SessionActivity.maxStreamsPerParticipant) {
            _ = activity.start(StreamStart(streamID: id, source: .camera, codec: .jpeg, width: 10, height: 10, fps: 1), by: .customer)
        }
        #expect(
            activity.start(StreamStart(streamID: 99, source: .camera, codec: .jpeg, width: 10, height: 10, fps: 1), by: .customer)
                == .failure(.tooManyStreams)
        )
        #expect(
            activity.start(StreamStart(streamID: 99, source: .camera, codec: .jpeg, width: 0, height: 10, fps: 1), by: .agent)
                == .failure(.invalidField("width"))
        )
        #expect(activity.change(StreamRef(streamID: 50), by: .agent, stopping: true) == .failure(.unknownStream))
        let key = StreamKey(owner: .customer, streamID: 0)
        activity.frameRelayed(key, bytes: 100)
        activity.frameRelayed(key, bytes: 50)
        activity.framesDropped(key, count: 3)
        #expect(
            activity.stats[key]
                == StreamStats(owner: .customer, streamID: 0, source: .camera, codec: .jpeg, framesRelayed: 2, bytesRelayed: 150, framesDropped: 3)
        )
    }
}
