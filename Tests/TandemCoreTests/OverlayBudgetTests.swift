import Foundation
import TandemCore
import TandemProtocol
import Testing

@Suite("Overlay memory: compact points, the session's budget, catch-up in bounded messages")
struct OverlayBudgetTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    let camera = StreamStart(streamID: 1, source: .camera, codec: .jpeg, width: 640, height: 480, fps: 10)
    let screen = StreamStart(streamID: 2, source: .screen, codec: .png, width: 1280, height: 720, fps: 2)

    func stroke(_ id: String, points count: Int, owner: ParticipantRole = .customer, stream: UInt16 = 1) -> Annotation {
        .add(Shape(id: id, kind: .stroke, points: (0..<count).map { [Double(1234 + $0 % 8000) / 10_000, 0.5678] }), owner: owner, streamID: stream)
    }

    func arrow(_ id: String, owner: ParticipantRole = .customer, stream: UInt16 = 1) -> Annotation {
        .add(Shape(id: id, kind: .arrow, points: [[0.1, 0.1], [0.2, 0.2]]), owner: owner, streamID: stream)
    }

    @Test("points are kept on a 1/10000 grid and relayed so; a shape costs 256 + 16 a point + its id and text")
    func compactStorage() throws {
        var overlay = OverlayState()
        let added = try overlay.apply(
            .add(Shape(id: "s", kind: .stroke, points: [[0.12344, 0.5], [1, 0]]), owner: .customer, streamID: 1),
            by: .agent,
            now: t0
        ).get()
        #expect(added.shape?.points == [[0.1234, 0.5], [1, 0]])
        #expect(overlay.bytes == 256 + 2 * 16 + 1)
        let appended = try overlay.apply(
            Annotation(op: .append, owner: .customer, streamID: 1, id: "s", points: [[0.33336, 0.2]]),
            by: .agent,
            now: t0
        ).get()
        #expect(appended.points == [[0.3334, 0.2]])
        #expect(overlay.bytes == 256 + 3 * 16 + 1)
        #expect(overlay.shapes(at: t0).first?.points == [[0.1234, 0.5], [1, 0], [0.3334, 0.2]])
        _ = try overlay.apply(
            .add(Shape(id: "t", kind: .text, points: [[0.5, 0.5]], text: "héllo"), owner: .customer, streamID: 1),
            by: .customer,
            now: t0
        ).get()
        #expect(overlay.bytes == (256 + 3 * 16 + 1) + (256 + 16 + 1 + 6))
        #expect(OverlayState.cost(of: Shape(id: "t", kind: .text, points: [[0.5, 0.5]], text: "héllo")) == 256 + 16 + 1 + 6)
        _ = try overlay.apply(Annotation(op: .remove, owner: .customer, streamID: 1, id: "s"), by: .customer, now: t0).get()
        #expect(overlay.bytes == 256 + 16 + 1 + 6)
        _ = try overlay.apply(.add(Shape(id: "p", kind: .pointer, points: [[0.5, 0.5]]), owner: .customer, streamID: 1), by: .agent, now: t0).get()
        #expect(overlay.bytes == 256 + 16 + 1 + 6)
        _ = try overlay.apply(Annotation(op: .clear, owner: .customer, streamID: 1), by: .agent, now: t0).get()
        #expect(overlay.bytes == 0)
    }

    @Test("an add or append that would pass the budget is refused and changes nothing; removals and expiry give bytes back")
    func budget() throws {
        var overlay = OverlayState()
        let ten = OverlayState.cost(of: try #require(stroke("a", points: 10).shape))
        let limit = ten + 100
        _ = try overlay.apply(stroke("a", points: 10), by: .customer, now: t0, maxBytes: limit).get()
        #expect(overlay.bytes == ten)
        #expect(overlay.apply(arrow("b"), by: .customer, now: t0, maxBytes: limit) == .failure(.overBudget))
        #expect(overlay.shapeCount == 1)
        let six = Annotation(op: .append, owner: .customer, streamID: 1, id: "a", points: Array(repeating: [0.5, 0.5], count: 6))
        _ = try overlay.apply(six, by: .customer, now: t0, maxBytes: limit).get()
        #expect(overlay.bytes == ten + 96)
        let one = Annotation(op: .append, owner: .customer, streamID: 1, id: "a", points: [[0.5, 0.5]])
        #expect(overlay.apply(one, by: .customer, now: t0, maxBytes: limit) == .failure(.overBudget))
        #expect(overlay.shapes(at: t0).first?.points.count == 16)
        // Replacing the stroke with a shorter one frees the difference.
        _ = try overlay.apply(stroke("a", points: 2), by: .customer, now: t0, maxBytes: limit).get()
        #expect(overlay.bytes == OverlayState.cost(of: try #require(stroke("a", points: 2).shape)))
        var fading = arrow("f")
        fading.shape?.ttlMs = 1000
        _ = try overlay.apply(fading, by: .customer, now: t0, maxBytes: limit * 2).get()
        #expect(overlay.shapeCount == 2)
        // Once it expired its bytes no longer count: this append fits the old budget again.
        _ = try overlay.apply(one, by: .customer, now: t0.addingTimeInterval(1), maxBytes: limit).get()
        #expect(overlay.shapeCount == 1)
        #expect(overlay.bytes == OverlayState.cost(of: try #require(stroke("a", points: 2).shape)) + 16)
    }

    @Test("annotations and freezes need a live stream; the session's overlays share one budget")
    func sessionBudget() throws {
        var activity = SessionActivity(overlayLimits: OverlayLimits(maxBytesPerSession: 2000, maxMessageSize: 64 << 10))
        #expect(activity.annotate(stroke("x", points: 10_000), by: .customer, now: t0) == .failure(.unknownStream))
        #expect(activity.freeze(Freeze(owner: .agent, streamID: 2, sequence: 1), by: .customer, freezing: true) == .failure(.unknownStream))
        #expect(activity.freeze(Freeze(owner: .agent, streamID: 2), by: .customer, freezing: false) == .failure(.unknownStream))
        #expect(activity.overlays.isEmpty)
        #expect(activity.annotations == 0 && activity.freezes == 0)
        _ = try activity.start(camera, by: .customer).get()
        _ = try activity.start(screen, by: .agent).get()
        let sixty = OverlayState.cost(of: try #require(stroke("c", points: 60).shape))
        _ = try activity.annotate(stroke("c", points: 60), by: .customer, now: t0).get()
        #expect(activity.overlayBytes == sixty)
        #expect(activity.annotate(stroke("d", points: 60, owner: .agent, stream: 2), by: .agent, now: t0) == .failure(.overlay(.overBudget)))
        _ = try activity.annotate(arrow("e", owner: .agent, stream: 2), by: .agent, now: t0).get()
        let arrowCost = OverlayState.cost(of: try #require(arrow("e").shape))
        #expect(activity.overlayBytes == sixty + arrowCost)
        _ = try activity.change(StreamRef(streamID: 1), by: .customer, stopping: true).get()
        #expect(activity.overlayBytes == arrowCost)
        #expect(activity.annotate(arrow("g"), by: .agent, now: t0) == .failure(.unknownStream))
        _ = try activity.annotate(stroke("d", points: 60, owner: .agent, stream: 2), by: .agent, now: t0).get()
        #expect(activity.overlayBytes == arrowCost + sixty)
        #expect(activity.annotations == 3)
    }

    @Test("a large overlay's catch-up comes in messages that each fit, and rebuilds the same overlay")
    func catchUpInBoundedMessages() throws {
        let limit = 4096
        var activity = SessionActivity(overlayLimits: OverlayLimits(maxBytesPerSession: 8 << 20, maxMessageSize: limit))
        _ = try activity.start(camera, by: .customer).get()
        _ = try activity.freeze(Freeze(owner: .customer, streamID: 1, sequence: 7), by: .agent, freezing: true).get()
        for index in 0..<30 { _ = try activity.annotate(arrow("a\(index)"), by: .agent, now: t0).get() }
        _ = try activity.annotate(stroke("long", points: 2000), by: .customer, now: t0).get()
        for index in 0..<5 { _ = try activity.annotate(arrow("b\(index)"), by: .customer, now: t0).get() }
        let escaped = Shape(id: "txt", kind: .text, points: [[0.5, 0.5]], text: String(repeating: "\u{1}", count: 400))
        _ = try activity.annotate(.add(escaped, owner: .customer, streamID: 1), by: .agent, now: t0).get()

        let messages = activity.catchUp(for: .agent, now: t0)
        #expect(
            messages.first
                == .streamStart(StreamStart(streamID: 1, source: .camera, codec: .jpeg, width: 640, height: 480, fps: 10, owner: .customer))
        )
        #expect(messages.allSatisfy { $0.jsonText.utf8.count <= limit })
        #expect(messages.contains { if case .annotation(let append) = $0 { append.op == .append && append.author == .customer } else { false } })
        guard case .overlaySnapshot(let first) = messages.dropFirst().first else {
            Issue.record("the overlay starts with a snapshot: \(messages.prefix(2))")
            return
        }
        #expect(first.frozenSequence == 7 && first.continued == nil)

        // What a receiver makes of them.
        var rebuilt: [Shape] = []
        for message in messages.dropFirst() {
            switch message {
            case .overlaySnapshot(let snapshot) where snapshot.continued == true: rebuilt += snapshot.shapes
            case .overlaySnapshot(let snapshot): rebuilt = snapshot.shapes
            case .annotation(let append):
                guard let index = rebuilt.firstIndex(where: { $0.id == append.id }) else { continue }
                rebuilt[index].points += append.points ?? []
            default: Issue.record("unexpected \(message.type)")
            }
        }
        let kept = try #require(activity.overlays[StreamKey(owner: .customer, streamID: 1)]).shapes(at: t0)
        #expect(rebuilt == kept)
        #expect(rebuilt.map(\.id).last == "txt")
    }

    @Test("an overlay that fits, or holds only a freeze, is one snapshot as before")
    func smallOverlay() throws {
        var activity = SessionActivity()
        _ = try activity.start(camera, by: .customer).get()
        _ = try activity.freeze(Freeze(owner: .customer, streamID: 1, sequence: 3), by: .agent, freezing: true).get()
        #expect(
            activity.catchUp(for: .customer, now: t0) == [
                .overlaySnapshot(OverlaySnapshot(owner: .customer, streamID: 1, shapes: [], frozenSequence: 3))
            ]
        )
        _ = try activity.annotate(arrow("a"), by: .agent, now: t0).get()
        let messages = activity.catchUp(for: .customer, now: t0)
        #expect(messages.count == 1)
        guard case .overlaySnapshot(let snapshot) = messages.first else { return }
        #expect(snapshot.shapes.map(\.id) == ["a"])
    }
}
