/// Per-stream relay counters, as logged with the session.
public struct StreamStats: Sendable, Equatable, Codable {
    public var owner: ParticipantRole
    public var streamID: UInt16
    public var source: StreamSource?
    public var codec: MediaCodec?
    public var framesRelayed: Int64
    public var bytesRelayed: Int64
    /// Frames not delivered to a slow receiver (latest frames win).
    public var framesDropped: Int64

    enum CodingKeys: String, CodingKey {
        case owner
        case streamID = "streamId"
        case source, codec, framesRelayed, bytesRelayed, framesDropped
    }

    public init(
        owner: ParticipantRole,
        streamID: UInt16,
        source: StreamSource? = nil,
        codec: MediaCodec? = nil,
        framesRelayed: Int64 = 0,
        bytesRelayed: Int64 = 0,
        framesDropped: Int64 = 0
    ) {
        self.owner = owner
        self.streamID = streamID
        self.source = source
        self.codec = codec
        self.framesRelayed = framesRelayed
        self.bytesRelayed = bytesRelayed
        self.framesDropped = framesDropped
    }
}
