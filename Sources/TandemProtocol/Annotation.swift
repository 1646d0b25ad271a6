/// An overlay operation on one stream, relayed to the other participant.
///
/// `owner` and `streamId` name the stream (the owner is the participant who publishes it);
/// either participant may annotate any stream. The broker keeps the resulting overlay
/// so that a participant who joins later gets it first (`overlay.snapshot`).
/// See [protocol/README.md § Annotations](../../protocol/README.md#510-annotations).
public struct Annotation: Sendable, Equatable, Codable {
    public enum Operation: String, Sendable, Codable, CaseIterable {
        /// Add `shape` (replaces a shape with the same id by the same author).
        case add
        /// Append `points` to the stroke `id` (streamed while drawing).
        case append
        /// Remove the shape `id`.
        case remove
        /// Remove the sender's most recent shape on the stream.
        case undo
        /// Remove every shape on the stream.
        case clear
    }

    public var op: Operation
    public var owner: ParticipantRole
    public var streamID: UInt16
    public var shape: Shape?
    public var id: String?
    public var points: [[Double]]?
    /// Set by the broker: who sent the operation.
    public var author: ParticipantRole?

    enum CodingKeys: String, CodingKey {
        case op, owner
        case streamID = "streamId"
        case shape, id, points, author
    }

    public init(
        op: Operation,
        owner: ParticipantRole,
        streamID: UInt16,
        shape: Shape? = nil,
        id: String? = nil,
        points: [[Double]]? = nil,
        author: ParticipantRole? = nil
    ) {
        self.op = op
        self.owner = owner
        self.streamID = streamID
        self.shape = shape
        self.id = id
        self.points = points
        self.author = author
    }

    public static func add(_ shape: Shape, owner: ParticipantRole, streamID: UInt16) -> Annotation {
        Annotation(op: .add, owner: owner, streamID: streamID, shape: shape)
    }
}

/// Either side freezes a frame of a stream by its sequence number (both annotate the still),
/// or unfreezes it. See [protocol/README.md § Freeze-frame](../../protocol/README.md#511-freeze-frame).
public struct Freeze: Sendable, Equatable, Codable {
    public var owner: ParticipantRole
    public var streamID: UInt16
    /// `freeze` only: the sequence number of the frame to hold.
    public var sequence: UInt32?
    /// Set by the broker.
    public var author: ParticipantRole?

    enum CodingKeys: String, CodingKey {
        case owner
        case streamID = "streamId"
        case sequence, author
    }

    public init(owner: ParticipantRole, streamID: UInt16, sequence: UInt32? = nil, author: ParticipantRole? = nil) {
        self.owner = owner
        self.streamID = streamID
        self.sequence = sequence
        self.author = author
    }
}

/// Broker → participant: the overlay of one stream as it is now, sent on join before live updates.
/// See [protocol/README.md § Annotations](../../protocol/README.md#510-annotations).
///
/// An overlay too large for one control message comes in several: the first replaces the
/// receiver's overlay of the stream (and carries the freeze); each later one has
/// `continued: true` and adds its shapes after those already there.
public struct OverlaySnapshot: Sendable, Equatable, Codable {
    public var owner: ParticipantRole
    public var streamID: UInt16
    public var shapes: [Shape]
    /// The frozen frame's sequence number, when the stream is frozen.
    public var frozenSequence: UInt32?
    /// `true`: more shapes of the snapshot sent just before (add them, keep the rest).
    public var continued: Bool?

    enum CodingKeys: String, CodingKey {
        case owner
        case streamID = "streamId"
        case shapes, frozenSequence, continued
    }

    public init(owner: ParticipantRole, streamID: UInt16, shapes: [Shape], frozenSequence: UInt32?, continued: Bool? = nil) {
        self.owner = owner
        self.streamID = streamID
        self.shapes = shapes
        self.frozenSequence = frozenSequence
        self.continued = continued
    }
}
