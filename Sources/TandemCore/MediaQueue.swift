import DequeModule

/// One receiver's queue of media frames: bounded, latest frames win, keyframe-aware. The
/// policy only; ``ParticipantOutbox`` (TandemServer) holds one behind its lock and carries
/// the results out (statistics, keyframe requests to the publisher). Pure: the caller
/// passes the time.
///
/// When the queue is full the oldest frame is dropped, together with the queued frames of
/// its stream that depended on it (up to that stream's next queued keyframe). A stream
/// that lost a frame with no keyframe queued after it delivers nothing until its next
/// keyframe, and its publisher is asked for one at most every `keyframeRequestInterval`,
/// so a slow receiver causes no keyframe storm.
public struct MediaQueue<Frame: Sendable>: Sendable {
    public struct Entry: Sendable {
        public var frame: Frame
        public var bytes: Int
        public var streamID: UInt16
        public var keyframe: Bool
        /// When the frame was queued (for ``maxAge``).
        public var queuedAt: ContinuousClock.Instant
    }

    /// What one ``enqueue(_:bytes:streamID:keyframe:now:)`` did.
    public struct EnqueueResult: Sendable, Equatable {
        /// The new frame is in the queue.
        public var queued = false
        /// Frames not delivered, per stream (the new one included when it was refused).
        public var dropped: [UInt16: Int] = [:]
        /// Streams whose publisher must be asked for a keyframe now.
        public var keyframeRequests: [UInt16] = []
        /// Bytes of queued frames removed to make room.
        public var removedBytes = 0

        public init(queued: Bool = false, dropped: [UInt16: Int] = [:], keyframeRequests: [UInt16] = [], removedBytes: Int = 0) {
            self.queued = queued
            self.dropped = dropped
            self.keyframeRequests = keyframeRequests
            self.removedBytes = removedBytes
        }
    }

    /// What one ``popFirst(now:)`` did.
    public struct PopResult: Sendable {
        /// The frame to deliver, if any is fresh enough.
        public var entry: Entry?
        /// Frames dropped because they waited longer than ``maxAge``, per stream (with the
        /// queued frames of their stream that depended on them).
        public var dropped: [UInt16: Int] = [:]
        /// Bytes of the dropped frames.
        public var removedBytes = 0

        public init() {}

        /// Counts `other`'s stale drops with these (two queues popped in turn).
        public mutating func addDrops(of other: PopResult) {
            dropped.merge(other.dropped, uniquingKeysWith: +)
            removedBytes += other.removedBytes
        }
    }

    public let capacity: Int
    public let keyframeRequestInterval: Duration
    /// A frame that waited longer than this is stale: it is dropped instead of delivered, so
    /// a receiver that stalled and resumes gets live frames, not a backlog.
    public let maxAge: Duration
    private var entries = Deque<Entry>()
    /// Streams that lost a frame and wait for a keyframe before anything is delivered.
    private var awaitingKeyframe = Set<UInt16>()
    private var lastKeyframeRequest: [UInt16: ContinuousClock.Instant] = [:]

    public init(capacity: Int, keyframeRequestInterval: Duration = .milliseconds(500), maxAge: Duration = .seconds(1)) {
        self.capacity = capacity
        self.keyframeRequestInterval = keyframeRequestInterval
        self.maxAge = maxAge
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    public mutating func enqueue(_ frame: Frame, bytes: Int, streamID: UInt16, keyframe: Bool, now: ContinuousClock.Instant) -> EnqueueResult {
        var result = EnqueueResult()
        if awaitingKeyframe.contains(streamID) {
            guard keyframe else {
                result.dropped[streamID, default: 0] += 1
                requestKeyframe(streamID, now: now, into: &result)
                return result
            }
            awaitingKeyframe.remove(streamID)
        }
        if entries.count >= capacity {
            let victim = entries.removeFirst()
            result.removedBytes += victim.bytes
            result.dropped[victim.streamID, default: 0] += 1
            // Frames of the victim's stream up to its next queued keyframe depended on it.
            if let next = entries.firstIndex(where: { $0.streamID == victim.streamID && $0.keyframe }) {
                removeFrames(of: victim.streamID, before: next, into: &result)
            } else {
                removeFrames(of: victim.streamID, before: entries.endIndex, into: &result)
                if !(victim.streamID == streamID && keyframe) {
                    awaitingKeyframe.insert(victim.streamID)
                    requestKeyframe(victim.streamID, now: now, into: &result)
                    if victim.streamID == streamID {
                        result.dropped[streamID, default: 0] += 1
                        return result
                    }
                }
            }
        }
        entries.append(Entry(frame: frame, bytes: bytes, streamID: streamID, keyframe: keyframe, queuedAt: now))
        result.queued = true
        return result
    }

    /// The next frame to deliver, after dropping those that waited longer than ``maxAge``
    /// (and the frames of their streams that depended on them; such a stream then waits for
    /// its next keyframe, asked for at its next frame).
    public mutating func popFirst(now: ContinuousClock.Instant) -> PopResult {
        var result = PopResult()
        while let first = entries.first, now - first.queuedAt > maxAge {
            entries.removeFirst()
            result.removedBytes += first.bytes
            result.dropped[first.streamID, default: 0] += 1
            var dependents = EnqueueResult()
            if let next = entries.firstIndex(where: { $0.streamID == first.streamID && $0.keyframe }) {
                removeFrames(of: first.streamID, before: next, into: &dependents)
            } else {
                removeFrames(of: first.streamID, before: entries.endIndex, into: &dependents)
                awaitingKeyframe.insert(first.streamID)
            }
            result.removedBytes += dependents.removedBytes
            for (stream, count) in dependents.dropped { result.dropped[stream, default: 0] += count }
        }
        result.entry = entries.popFirst()
        return result
    }

    /// A frame of `streamID` never reached this queue (the sender went over its rate): the
    /// stream delivers nothing more until its next keyframe.
    public mutating func skipToKeyframe(streamID: UInt16) {
        awaitingKeyframe.insert(streamID)
    }

    /// Empties the queue; returns what was in it, per stream, and its bytes.
    public mutating func removeAll() -> (dropped: [UInt16: Int], bytes: Int) {
        var dropped: [UInt16: Int] = [:]
        var bytes = 0
        for entry in entries {
            dropped[entry.streamID, default: 0] += 1
            bytes += entry.bytes
        }
        entries.removeAll()
        return (dropped, bytes)
    }

    private mutating func requestKeyframe(_ stream: UInt16, now: ContinuousClock.Instant, into result: inout EnqueueResult) {
        if let last = lastKeyframeRequest[stream], now - last < keyframeRequestInterval { return }
        lastKeyframeRequest[stream] = now
        result.keyframeRequests.append(stream)
    }

    /// Removes the queued frames of `stream` before `end`, counting them as dropped. A plain
    /// loop (the queue holds a handful of frames): a closure capturing the counters would
    /// allocate a box for each of them on every drop.
    private mutating func removeFrames(of stream: UInt16, before end: Int, into result: inout EnqueueResult) {
        var index = entries.startIndex
        var limit = end
        var removed = 0
        var bytes = 0
        while index < limit {
            if entries[index].streamID == stream {
                bytes += entries[index].bytes
                entries.remove(at: index)
                removed += 1
                limit -= 1
            } else {
                index += 1
            }
        }
        if removed > 0 { result.dropped[stream, default: 0] += removed }
        result.removedBytes += bytes
    }

}
