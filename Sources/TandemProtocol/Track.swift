/// Where the scene of a camera stream is in one of its frames (§5.15): the stream's publisher
/// tracks the scene's motion and sends, per frame it tracked, the map from the scene (the
/// "world" of the current `epoch`: the first frame tracked in it) to that frame. Anchored
/// shapes (``Shape/anchor``) are drawn through it, so an arrow stays on the object while the
/// camera moves. Relayed, kept as the stream's latest (in `overlay.snapshot`), not logged one
/// by one: the session's ending counts the anchored shapes and the times tracking was lost
/// and recovered.
///
/// See [protocol/README.md § Anchored annotations](../../protocol/README.md#515-anchored-annotations).
public struct Track: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable, CaseIterable {
        /// The scene is where `m` says.
        case tracking
        /// The publisher lost the scene (occlusion, another place): `m` is the last good map;
        /// anchored shapes of this epoch are shown faded, as lost.
        case lost
    }

    /// The stream's publisher; set by the broker to the sender (only a stream's publisher tracks it).
    public var owner: ParticipantRole?
    public var streamID: UInt16
    /// The frame (§4) this map is for.
    public var sequence: UInt32
    /// The world the map starts from; a new one when tracking starts over (1 or more).
    public var epoch: UInt32
    public var state: State
    /// ``SceneTransform`` from the world to the frame, in normalised stream coordinates.
    public var m: [Double]

    enum CodingKeys: String, CodingKey {
        case owner
        case streamID = "streamId"
        case sequence, epoch, state, m
    }

    public init(owner: ParticipantRole? = nil, streamID: UInt16, sequence: UInt32, epoch: UInt32, state: State, m: [Double]) {
        self.owner = owner
        self.streamID = streamID
        self.sequence = sequence
        self.epoch = epoch
        self.state = state
        self.m = m
    }

    /// Why the message is not acceptable, or nil.
    public var invalidField: String? {
        if epoch == 0 { return "epoch" }
        if !SceneTransform.isValid(m) { return "m" }
        return nil
    }
}
