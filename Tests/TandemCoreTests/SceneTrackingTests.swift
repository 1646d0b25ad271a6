import Foundation
import TandemCore
import TandemProtocol
import Testing

@Suite("Scene tracking and anchored shapes in SessionActivity (§5.15), step by step")
struct SceneTrackingTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    let camera = StreamStart(streamID: 1, source: .camera, codec: .jpeg, width: 640, height: 360, fps: 15)
    let shifted = [1, 0, 0.1, 0, 1, 0.0]

    func track(_ sequence: UInt32, _ state: Track.State = .tracking, epoch: UInt32 = 1, owner: ParticipantRole? = nil) -> Track {
        Track(owner: owner, streamID: 1, sequence: sequence, epoch: epoch, state: state, m: shifted)
    }

    func activity() -> SessionActivity {
        var activity = SessionActivity()
        _ = activity.start(camera, by: .customer)
        return activity
    }

    @Test("only the stream's publisher tracks it; the relayed message names it")
    func publisherOnly() throws {
        var activity = activity()
        #expect(try activity.track(track(1), by: .customer).get().owner == .customer)
        #expect(activity.track(track(2), by: .agent) == .failure(.unknownStream))
        #expect(activity.track(track(3, owner: .agent), by: .customer) == .failure(.invalidField("owner")))
        #expect(activity.tracks[StreamKey(owner: .customer, streamID: 1)]?.sequence == 1)
    }

    @Test("unknown and audio streams, epoch 0 and bad maps are refused")
    func refusals() {
        var activity = activity()
        _ = activity.start(StreamStart(streamID: 7, source: .microphone, codec: .opus, width: 0, height: 0, fps: 50), by: .customer)
        var other = track(1)
        other.streamID = 2
        #expect(activity.track(other, by: .customer) == .failure(.unknownStream))
        other.streamID = 7
        #expect(activity.track(other, by: .customer) == .failure(.unknownStream))
        #expect(activity.track(track(1, epoch: 0), by: .customer) == .failure(.invalidField("epoch")))
        var bad = track(1)
        bad.m = [1, 0, 0, 0, 1]
        #expect(activity.track(bad, by: .customer) == .failure(.invalidField("m")))
        bad.m = [0, 0, 0, 0, 0, 0]
        #expect(activity.track(bad, by: .customer) == .failure(.invalidField("m")))
    }

    @Test("turns to lost and back within an epoch are counted; a new epoch is not a recovery")
    func lostAndRecovered() throws {
        var activity = activity()
        _ = try activity.track(track(1), by: .customer).get()
        _ = try activity.track(track(2, .lost), by: .customer).get()
        #expect(activity.trackingLost == 1)
        _ = try activity.track(track(3, .lost), by: .customer).get()
        #expect(activity.trackingLost == 1)
        _ = try activity.track(track(4), by: .customer).get()
        #expect(activity.trackingRecovered == 1)
        _ = try activity.track(track(5, .lost), by: .customer).get()
        _ = try activity.track(track(6, epoch: 2), by: .customer).get()
        #expect(activity.trackingLost == 2)
        #expect(activity.trackingRecovered == 1)
    }

    @Test("a catch-up ends with the latest track of the other side's streams; a stop forgets it")
    func catchUp() throws {
        var activity = activity()
        _ = try activity.track(track(9), by: .customer).get()
        let messages = activity.catchUp(for: .agent, now: t0)
        #expect(messages.last == .track(track(9, owner: .customer)))
        #expect(!activity.catchUp(for: .customer, now: t0).contains { if case .track = $0 { true } else { false } })
        _ = activity.change(StreamRef(streamID: 1), by: .customer, stopping: true)
        #expect(activity.tracks.isEmpty)
    }

    @Test("anchored shapes are kept with their anchor, counted, and cost 192 bytes more")
    func anchoredShapes() throws {
        var activity = activity()
        let anchor = ShapeAnchor(epoch: 1, m: shifted)
        let plain = Shape(id: "p", kind: .arrow, points: [[0.1, 0.1], [0.2, 0.2]])
        var anchored = plain
        anchored.id = "a"
        anchored.anchor = anchor
        #expect(OverlayState.cost(of: anchored) == OverlayState.cost(of: plain) + 192)
        let relayed = try activity.annotate(.add(anchored, owner: .customer, streamID: 1), by: .agent, now: t0).get()
        #expect(relayed.shape?.anchor == anchor)
        _ = try activity.annotate(.add(plain, owner: .customer, streamID: 1), by: .agent, now: t0).get()
        #expect(activity.anchoredShapes == 1)
        #expect(activity.overlays[StreamKey(owner: .customer, streamID: 1)]?.shapes(at: t0).first?.anchor == anchor)
        var invalid = anchored
        invalid.id = "b"
        invalid.anchor = ShapeAnchor(epoch: 0, m: shifted)
        let refused = activity.annotate(.add(invalid, owner: .customer, streamID: 1), by: .agent, now: t0)
        #expect(refused == .failure(.overlay(.invalidField("shape.anchor"))))
    }

    @Test("the ending carries the counts for session.ended, only when there are any")
    func ending() throws {
        var activity = activity()
        var ending = SessionEnding(endedAt: t0, reason: .agentEnded, outcome: .resolved, note: nil, traffic: SessionTraffic())
        ending.include(activity)
        #expect(ending.anchorDetail.isEmpty)
        _ = try activity.track(track(1), by: .customer).get()
        _ = try activity.track(track(2, .lost), by: .customer).get()
        ending.include(activity)
        #expect(ending.anchorDetail == ["anchors": "0", "trackingLost": "1", "trackingRecovered": "0"])
    }
}
