import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Identifies a stream within a session: its publisher and the publisher's stream id.
public struct StreamKey: Hashable, Sendable, Comparable {
    public var owner: ParticipantRole
    public var streamID: UInt16

    public init(owner: ParticipantRole, streamID: UInt16) {
        self.owner = owner
        self.streamID = streamID
    }

    public static func < (lhs: StreamKey, rhs: StreamKey) -> Bool {
        (lhs.owner.rawValue, lhs.streamID) < (rhs.owner.rawValue, rhs.streamID)
    }
}

/// What happened in a live session beyond pairing: announced streams, their overlays,
/// and the counts that go into the log. Pure logic, bounded.
public struct SessionActivity: Sendable, Equatable {
    public static let maxStreamsPerParticipant = 8
    public static let maxOverlays = 32

    public enum Rejection: Error, Equatable, Sendable {
        case tooManyStreams
        case unknownStream
        case invalidField(String)
        case overlay(OverlayState.Rejection)
        /// The customer has not granted consent to share.
        case consentRequired
        /// An audio stream while the session's voice is off (§5.14).
        case voiceOff
    }

    public private(set) var streams: [StreamKey: StreamStart] = [:]
    public private(set) var overlays: [StreamKey: OverlayState] = [:]
    public private(set) var stats: [StreamKey: StreamStats] = [:]
    public private(set) var chatMessages = 0
    public private(set) var annotations = 0
    public private(set) var freezes = 0
    /// The latest ``Track`` of each tracked stream (§5.15).
    public private(set) var tracks: [StreamKey: Track] = [:]
    /// Anchored shapes added, and the times tracking was lost and recovered (§5.15).
    public private(set) var anchoredShapes = 0
    public private(set) var trackingLost = 0
    public private(set) var trackingRecovered = 0
    /// The session's overlay budget and the size of the messages that carry overlays.
    public let overlayLimits: OverlayLimits

    public init(overlayLimits: OverlayLimits = OverlayLimits()) {
        self.overlayLimits = overlayLimits
    }

    /// Budget bytes (``OverlayState/cost(of:)``) of every kept shape of the session.
    public var overlayBytes: Int {
        overlays.values.reduce(0) { $0 + $1.bytes }
    }

    /// A publisher announces a stream. Returns the announcement to relay (owner set).
    public mutating func start(_ start: StreamStart, by owner: ParticipantRole) -> Result<StreamStart, Rejection> {
        let key = StreamKey(owner: owner, streamID: start.streamID)
        if let field = start.invalidField { return .failure(.invalidField(field)) }
        // A new announcement of a stream keeps its kind: its start and stop are logged as one (§5.14).
        if let announced = streams[key], announced.codec.isAudio != start.codec.isAudio { return .failure(.invalidField("codec")) }
        if streams[key] == nil, streams.keys.filter({ $0.owner == owner }).count >= Self.maxStreamsPerParticipant {
            return .failure(.tooManyStreams)
        }
        var relayed = start
        relayed.owner = owner
        // Another source (a camera now a screen) is another scene: its old track no longer places anything.
        if let announced = streams[key], announced.source != start.source { tracks[key] = nil }
        streams[key] = relayed
        var entry = stats[key] ?? StreamStats(owner: owner, streamID: start.streamID)
        entry.source = start.source
        entry.codec = start.codec
        stats[key] = entry
        return .success(relayed)
    }

    /// A publisher stops, pauses or resumes one of its announced streams.
    public mutating func change(_ ref: StreamRef, by owner: ParticipantRole, stopping: Bool) -> Result<StreamRef, Rejection> {
        let key = StreamKey(owner: owner, streamID: ref.streamID)
        guard streams[key] != nil else { return .failure(.unknownStream) }
        if stopping {
            streams[key] = nil
            overlays[key] = nil
            tracks[key] = nil
        }
        var relayed = ref
        relayed.owner = owner
        return .success(relayed)
    }

    /// Whether `owner`'s stream `streamID` was announced with an audio codec (§4.1).
    public func isAudio(owner: ParticipantRole, streamID: UInt16) -> Bool {
        streams[StreamKey(owner: owner, streamID: streamID)]?.codec.isAudio == true
    }

    /// Stops every video stream (`audio` false: consent to share withdrawn) or every audio
    /// stream (`audio` true: microphone withdrawn, voice off) of `owner`. Returns the stops
    /// to relay.
    public mutating func stopAll(owner: ParticipantRole, audio: Bool) -> [StreamRef] {
        let stops = announcedStreams(of: owner, audio: audio)
        for stop in stops {
            let key = StreamKey(owner: owner, streamID: stop.streamID)
            streams[key] = nil
            overlays[key] = nil
            tracks[key] = nil
        }
        return stops
    }

    /// The announced audio (`audio` true) or video streams of `owner`, or of both sides when
    /// it is nil, in a stable order, each with its owner.
    public func announcedStreams(of owner: ParticipantRole?, audio: Bool) -> [StreamRef] {
        streams.filter { (owner == nil || $0.key.owner == owner) && $0.value.codec.isAudio == audio }.keys.sorted()
            .map { StreamRef(streamID: $0.streamID, owner: $0.owner) }
    }

    /// An annotation from `author`, applied to the overlay of its stream. Only streams that
    /// were started and not stopped have an overlay (else `unknownStream`, nothing kept); the
    /// session's overlays together stay within ``OverlayLimits/maxBytesPerSession``.
    public mutating func annotate(_ annotation: Annotation, by author: ParticipantRole, now: Date) -> Result<Annotation, Rejection> {
        let key = StreamKey(owner: annotation.owner, streamID: annotation.streamID)
        guard streams[key] != nil else { return .failure(.unknownStream) }
        var overlay = overlays[key] ?? OverlayState()
        if overlays[key] == nil, overlays.count >= Self.maxOverlays { return .failure(.tooManyStreams) }
        var result = overlay.apply(annotation, by: author, now: now, maxBytes: overlayRoom(for: key))
        if result == .failure(.overBudget) {
            // Shapes that expired on other streams no longer count.
            for other in Array(overlays.keys) where other != key { overlays[other]?.dropExpired(now: now) }
            result = overlay.apply(annotation, by: author, now: now, maxBytes: overlayRoom(for: key))
        }
        switch result {
        case .success(let relayed):
            overlays[key] = overlay
            annotations += 1
            if relayed.op == .add, relayed.shape?.anchor != nil, relayed.shape?.kind != .pointer { anchoredShapes += 1 }
            return .success(relayed)
        case .failure(let rejection):
            return .failure(.overlay(rejection))
        }
    }

    /// The most the overlay of `key` may hold: the budget less what the other overlays keep.
    private func overlayRoom(for key: StreamKey) -> Int {
        let others = overlays.reduce(0) { $0 + ($1.key == key ? 0 : $1.value.bytes) }
        return overlayLimits.maxBytesPerSession - others
    }

    /// Freeze (`sequence` set) or unfreeze a stream.
    public mutating func freeze(_ freeze: Freeze, by author: ParticipantRole, freezing: Bool) -> Result<Freeze, Rejection> {
        let key = StreamKey(owner: freeze.owner, streamID: freeze.streamID)
        guard streams[key] != nil else { return .failure(.unknownStream) }
        var overlay = overlays[key] ?? OverlayState()
        if overlays[key] == nil, overlays.count >= Self.maxOverlays { return .failure(.tooManyStreams) }
        if freezing {
            guard let sequence = freeze.sequence else { return .failure(.invalidField("sequence")) }
            overlay.freeze(sequence: sequence)
            freezes += 1
        } else {
            overlay.unfreeze()
        }
        overlays[key] = overlay
        var relayed = freeze
        relayed.author = author
        return .success(relayed)
    }

    /// Where the scene of `owner`'s stream is in a frame (§5.15): only the stream's publisher
    /// tracks it, and only a video stream. Returns the message to relay (owner set); counts
    /// the turns from tracking to lost and back within one epoch.
    public mutating func track(_ track: Track, by owner: ParticipantRole) -> Result<Track, Rejection> {
        if let claimed = track.owner, claimed != owner { return .failure(.invalidField("owner")) }
        let key = StreamKey(owner: owner, streamID: track.streamID)
        guard let stream = streams[key] else { return .failure(.unknownStream) }
        if stream.codec.isAudio { return .failure(.unknownStream) }
        if let field = track.invalidField { return .failure(.invalidField(field)) }
        var relayed = track
        relayed.owner = owner
        if let previous = tracks[key], previous.epoch == track.epoch {
            switch (previous.state, track.state) {
            case (.tracking, .lost): trackingLost += 1
            case (.lost, .tracking): trackingRecovered += 1
            case (.tracking, .tracking), (.lost, .lost): break
            }
        }
        tracks[key] = relayed
        return .success(relayed)
    }

    public mutating func chatRelayed() {
        chatMessages += 1
    }

    public mutating func frameRelayed(_ key: StreamKey, bytes: Int) {
        var entry = stats[key] ?? StreamStats(owner: key.owner, streamID: key.streamID)
        entry.framesRelayed += 1
        entry.bytesRelayed += Int64(bytes)
        stats[key] = entry
    }

    public mutating func framesDropped(_ key: StreamKey, count: Int) {
        var entry = stats[key] ?? StreamStats(owner: key.owner, streamID: key.streamID)
        entry.framesDropped += Int64(count)
        stats[key] = entry
    }

    /// What a participant joining now must receive first: the other side's streams and
    /// every non-empty overlay, each overlay in messages of at most
    /// ``OverlayLimits/maxMessageSize`` (``OverlayState/snapshotMessages(owner:streamID:now:maxMessageSize:)``).
    /// A supervisor (`nil`) gets every stream.
    public func catchUp(for recipient: ParticipantRole?, now: Date) -> [ControlMessage] {
        let announcements = streams.filter { $0.key.owner != recipient }.sorted { $0.key < $1.key }.map { ControlMessage.streamStart($0.value) }
        let snapshots = overlays.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }.flatMap {
            $0.value.snapshotMessages(owner: $0.key.owner, streamID: $0.key.streamID, now: now, maxMessageSize: overlayLimits.maxMessageSize)
        }
        // The scene's latest position, so anchored shapes are drawn in place at once.
        let tracked = tracks.filter { $0.key.owner != recipient }.sorted { $0.key < $1.key }.map { ControlMessage.track($0.value) }
        return announcements + snapshots + tracked
    }

    /// Per-stream counters in a stable order, for the log.
    public var streamStats: [StreamStats] {
        stats.sorted { $0.key < $1.key }.map(\.value)
    }
}
