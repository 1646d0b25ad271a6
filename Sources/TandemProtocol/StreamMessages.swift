/// What a stream shows. See [protocol/README.md § Streams](../../protocol/README.md#59-streams).
public enum StreamSource: String, Sendable, Codable, CaseIterable {
    case screen
    case camera
}

/// Publisher → broker → peer: a stream begins. Sent before its first frame.
///
/// See [protocol/README.md § Streams](../../protocol/README.md#59-streams).
public struct StreamStart: Sendable, Equatable, Codable {
    public var streamID: UInt16
    public var source: StreamSource
    public var codec: MediaCodec
    public var width: Int
    public var height: Int
    /// Nominal frames per second.
    public var fps: Double
    /// Set by the broker: who publishes the stream.
    public var owner: ParticipantRole?

    enum CodingKeys: String, CodingKey {
        case streamID = "streamId"
        case source, codec, width, height, fps, owner
    }

    public init(streamID: UInt16, source: StreamSource, codec: MediaCodec, width: Int, height: Int, fps: Double, owner: ParticipantRole? = nil) {
        self.streamID = streamID
        self.source = source
        self.codec = codec
        self.width = width
        self.height = height
        self.fps = fps
        self.owner = owner
    }
}

/// Publisher → broker → peer: `stream.stop`, `stream.pause`, `stream.resume` of one of its streams.
///
/// See [protocol/README.md § Streams](../../protocol/README.md#59-streams).
public struct StreamRef: Sendable, Equatable, Codable {
    public var streamID: UInt16
    /// Set by the broker: who publishes the stream.
    public var owner: ParticipantRole?

    enum CodingKeys: String, CodingKey {
        case streamID = "streamId"
        case owner
    }

    public init(streamID: UInt16, owner: ParticipantRole? = nil) {
        self.streamID = streamID
        self.owner = owner
    }
}

/// Receiver → broker → publisher: a request about one of the publisher's streams.
/// The broker itself sends `keyframe` requests after it dropped frames for a slow receiver.
///
/// See [protocol/README.md § Streams](../../protocol/README.md#59-streams).
public struct StreamControl: Sendable, Equatable, Codable {
    public enum Action: String, Sendable, Codable, CaseIterable {
        /// Stop sending frames of this stream until `resume`.
        case pause
        case resume
        /// Send a keyframe as soon as possible.
        case keyframe
        /// Send at most `fps` frames per second and/or at `quality` (0–1).
        case quality
    }

    /// Who asked: the receiving participant, or the broker after dropping frames.
    public enum Origin: String, Sendable, Codable {
        case agent
        case customer
        case broker
    }

    public var streamID: UInt16
    public var action: Action
    public var fps: Double?
    public var quality: Double?
    /// Set by the broker.
    public var origin: Origin?

    enum CodingKeys: String, CodingKey {
        case streamID = "streamId"
        case action, fps, quality, origin
    }

    public init(streamID: UInt16, action: Action, fps: Double? = nil, quality: Double? = nil, origin: Origin? = nil) {
        self.streamID = streamID
        self.action = action
        self.fps = fps
        self.quality = quality
        self.origin = origin
    }
}
