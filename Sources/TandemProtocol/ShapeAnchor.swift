/// The scene an anchored shape was drawn on (§5.15): the tracking epoch and the map from
/// that epoch's world to the frame the shape's points were drawn on. A receiver draws the
/// shape's points through `current ∘ m⁻¹`, `current` being the latest ``Track`` of the frame
/// it shows; without tracking (another epoch, or none) the shape stays where it was drawn.
public struct ShapeAnchor: Sendable, Equatable, Codable {
    public var epoch: UInt32
    public var m: [Double]

    public init(epoch: UInt32, m: [Double]) {
        self.epoch = epoch
        self.m = m
    }

    public var isValid: Bool { epoch > 0 && SceneTransform.isValid(m) }
}

extension Shape {
    /// Where a receiver draws this shape's points on a frame whose latest track is `track`
    /// (§5.15, protocol/vectors/anchors.json), and whether the shape is shown as lost.
    public func drawnPoints(on track: Track?) -> (points: [[Double]], lost: Bool) {
        guard let anchor else { return (points, false) }
        guard let track, track.epoch == anchor.epoch, SceneTransform.isValid(anchor.m), SceneTransform.isValid(track.m) else {
            return (points, track != nil)
        }
        let toWorld = SceneTransform.inverse(anchor.m)
        let drawn = points.map { SceneTransform.apply(track.m, to: SceneTransform.apply(toWorld, to: $0)) }
        return (drawn, track.state == .lost)
    }
}
