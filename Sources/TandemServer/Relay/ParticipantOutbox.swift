import DequeModule
import NIOConcurrencyHelpers
import NIOCore
import TandemCore
import TandemProtocol

/// The bounded queue between the relay and one participant's WebSocket.
///
/// Control messages are never dropped: past ``Limits/controlCapacity`` the recipient is
/// too slow and is disconnected. Media frames are droppable: past ``Limits/mediaCapacity``
/// the oldest queued frame is dropped, and a frame that waited longer than
/// ``Limits/mediaMaxAge`` is dropped instead of delivered. Buffers are queued as received
/// (frames) or as encoded once for every recipient (control), never copied.
///
/// Items leave through an ``OutboxWriter`` on the connection's event loop, which writes
/// only while the channel is writable and flushes once per batch; a close is handed to the
/// connection's task (``closing()``), which sends it through the WebSocket library.
final class ParticipantOutbox: Sendable {
    struct Limits: Sendable {
        var mediaCapacity: Int
        var controlCapacity: Int
        var mediaMaxAge: Duration = .seconds(1)
        /// Audio frames queued in their own lane (protocol/README.md §5.9): 200 ms of 20 ms packets.
        var audioCapacity = 10
    }

    enum Item: Sendable {
        /// A control message: UTF-8 JSON, sent as a text frame.
        case text(ByteBuffer)
        case binary(ByteBuffer)
        /// Close with this code and reason text.
        case close(TandemCloseCode, String)
    }

    enum EnqueueResult: Sendable, Equatable {
        case queued
        /// Queued after dropping the oldest queued frame.
        case droppedOldest
        /// The control queue is full: the recipient is being disconnected.
        case overflow
        /// The outbox is closing; nothing more is delivered.
        case closed
    }

    /// What happened to a frame handed to ``enqueue(media:streamID:keyframe:)``.
    struct MediaResult: Sendable, Equatable {
        var outcome: EnqueueResult = .queued
        /// Frames not delivered, per stream (the new one included when it was refused).
        var dropped: [UInt16: Int] = [:]
        /// Streams whose publisher must be asked for a keyframe.
        var keyframeRequests: [UInt16] = []
    }

    fileprivate struct State {
        var control = Deque<ByteBuffer>()
        /// The media policy (TandemCore's ``MediaQueue``): bounded, latest frames win, keyframe-aware.
        var media: MediaQueue<ByteBuffer>
        /// Audio's own lane under the same policy (every audio frame is a keyframe, so it only
        /// loses its oldest): written before video, not counted against it.
        var audio: MediaQueue<ByteBuffer>
        var closeCode: TandemCloseCode?
        /// The close frame's reason text when it is not the code's own (``TandemCloseCode/reason``).
        var closeReason: String?
        /// Close at once, discarding what is queued.
        var abandon = false
        /// The event-loop writer, once attached.
        var writer: OutboxWriter?
        /// A drain of the writer is scheduled and has not yet found the outbox empty.
        var drainScheduled = false
        /// The close the writer reached after everything queued before it, for ``closing()``.
        var reachedClose: (TandemCloseCode, String)?
        var closeWaiter: CheckedContinuation<(TandemCloseCode, String), Never>?
        /// Frames dropped as stale when the writer reached them, per stream, not yet reported
        /// (the next enqueue's ``MediaResult/dropped`` carries them to the session).
        var staleDrops: [UInt16: Int] = [:]
        /// Called once when the recipient overflows its control queue.
        var onOverflow: (@Sendable () -> Void)?
    }

    /// Who to wake after a change, outside the lock.
    fileprivate struct WakeUp {
        var writer: OutboxWriter?

        func run() {
            writer?.scheduleDrain()
        }
    }

    private let limits: Limits
    private let statistics: BrokerStatistics
    /// The connection's place in the admission budgets; told when the participant is
    /// welcomed (``ControlMessage/isWelcome``), before the welcome can reach it.
    let ticket: AdmissionTicket?
    private let state: NIOLockedValueBox<State>
    private let decodable = NIOLockedValueBox<CodecList?>(nil)

    /// What the participant on this connection decodes (its hello's `codecs`, §5.1), told to
    /// the other side; nil when the hello said nothing (an old client: images only).
    var codecs: CodecList? {
        get { decodable.withLockedValue { $0 } }
        set { decodable.withLockedValue { $0 = newValue } }
    }

    init(limits: Limits, statistics: BrokerStatistics = BrokerStatistics(), ticket: AdmissionTicket? = nil) {
        self.limits = limits
        self.statistics = statistics
        self.ticket = ticket
        self.state = NIOLockedValueBox(
            State(
                media: MediaQueue(capacity: limits.mediaCapacity, keyframeRequestInterval: Self.keyframeRequestInterval, maxAge: limits.mediaMaxAge),
                audio: MediaQueue(capacity: limits.audioCapacity, keyframeRequestInterval: Self.keyframeRequestInterval, maxAge: limits.mediaMaxAge)
            )
        )
    }

    /// Calls `handler` once when the recipient overflows its control queue, so the connection
    /// can be cut even if the recipient never reads its close.
    func onOverflow(_ handler: @escaping @Sendable () -> Void) {
        state.withLockedValue { $0.onOverflow = handler }
    }

    /// Forgets the writer and the overflow handler once the connection is over: they hold the
    /// outbox, and through the timer the channel, so keeping them would keep the whole
    /// connection (TLS state, buffers) alive after it closed.
    func detach() {
        state.withLockedValue { state in
            state.writer = nil
            state.onOverflow = nil
        }
    }

    /// Hands the queue to `writer` from now on; what is queued already is drained.
    func attach(_ writer: OutboxWriter) {
        let wakeUp = state.withLockedValue { state -> WakeUp in
            state.writer = writer
            return state.wakeUp()
        }
        wakeUp.run()
    }

    func enqueue(_ message: ControlMessage) -> EnqueueResult {
        if message.isWelcome { ticket?.welcome() }
        return enqueue(control: message.jsonBuffer)
    }

    func enqueue(control text: String) -> EnqueueResult {
        enqueue(control: ByteBuffer(string: text))
    }

    /// Queues an encoded control message. The same buffer may go to several recipients.
    func enqueue(control buffer: ByteBuffer) -> EnqueueResult {
        let (result, wakeUp, overflowed) = state.withLockedValue { state -> (EnqueueResult, WakeUp, (@Sendable () -> Void)?) in
            guard state.closeCode == nil else { return (.closed, WakeUp(), nil) }
            guard state.control.count < limits.controlCapacity else {
                state.closeCode = .slowConsumer
                state.abandon = true
                defer { state.onOverflow = nil }
                return (.overflow, state.wakeUp(), state.onOverflow)
            }
            state.control.append(buffer)
            return (.queued, state.wakeUp(), nil)
        }
        wakeUp.run()
        overflowed?()
        return result
    }

    /// Queues a frame under ``MediaQueue``'s policy (latest frames win; a stream that lost a
    /// frame waits for its next keyframe, asked for at most every ``keyframeRequestInterval``)
    /// and keeps the statistics of what it queued and dropped.
    /// `audio` frames go to their own lane (``Limits/audioCapacity``), written before video.
    func enqueue(media buffer: ByteBuffer, streamID: UInt16, keyframe: Bool, audio: Bool = false) -> MediaResult {
        let (queued, stale, wakeUp) = state.withLockedValue { state -> (MediaQueue<ByteBuffer>.EnqueueResult?, [UInt16: Int], WakeUp) in
            guard state.closeCode == nil else { return (nil, [:], WakeUp()) }
            let queued =
                audio
                ? state.audio.enqueue(buffer, bytes: buffer.readableBytes, streamID: streamID, keyframe: keyframe, now: .now)
                : state.media.enqueue(buffer, bytes: buffer.readableBytes, streamID: streamID, keyframe: keyframe, now: .now)
            let stale = state.staleDrops
            if !stale.isEmpty { state.staleDrops = [:] }
            return (queued, stale, queued.queued ? state.wakeUp() : WakeUp())
        }
        guard let queued else { return MediaResult(outcome: .closed) }
        if queued.removedBytes > 0 { statistics.mediaLeft(queued.removedBytes) }
        if queued.queued { statistics.mediaQueued(buffer.readableBytes) }
        if !queued.dropped.isEmpty { statistics.dropped(queued.dropped.values.reduce(0, +)) }
        wakeUp.run()
        var dropped = queued.dropped
        // Stale frames the writer dropped since the last enqueue (already in the statistics).
        for (stream, count) in stale { dropped[stream, default: 0] += count }
        return MediaResult(outcome: dropped.isEmpty ? .queued : .droppedOldest, dropped: dropped, keyframeRequests: queued.keyframeRequests)
    }

    /// A frame of `streamID` never reached this outbox (the sender went over its rate): the
    /// stream delivers nothing more until its next keyframe, which the next frame's enqueue
    /// asks the publisher for, as after a drop here.
    func skipToKeyframe(streamID: UInt16) {
        state.withLockedValue { $0.media.skipToKeyframe(streamID: streamID) }
    }

    /// The close code once the outbox is closing.
    var closeCode: TandemCloseCode? { state.withLockedValue { $0.closeCode } }

    /// Discards every queued frame (the session ended) and returns how many, per stream.
    func discardMedia() -> [UInt16: Int] {
        let (discarded, bytes, stale) = state.withLockedValue { state in
            let (video, videoBytes) = state.media.removeAll()
            let (audio, audioBytes) = state.audio.removeAll()
            defer { state.staleDrops = [:] }
            return (video.merging(audio, uniquingKeysWith: +), videoBytes + audioBytes, state.staleDrops)
        }
        statistics.mediaLeft(bytes)
        statistics.dropped(discarded.values.reduce(0, +))
        return discarded.merging(stale, uniquingKeysWith: +)
    }

    static let keyframeRequestInterval: Duration = .milliseconds(500)

    /// Frames currently queued (for tests and metrics).
    var queuedFrames: Int { state.withLockedValue { $0.media.count + $0.audio.count } }

    /// Delivers what is queued, then closes with `code` (and `reason` instead of the code's
    /// own text). Later calls keep the first code.
    func finish(_ code: TandemCloseCode, reason: String? = nil) {
        let wakeUp = state.withLockedValue { state -> WakeUp in
            if state.closeCode == nil {
                state.closeCode = code
                state.closeReason = reason
            }
            return state.wakeUp()
        }
        wakeUp.run()
    }

    /// Closes with `code` at once, discarding what is queued.
    func abandon(_ code: TandemCloseCode) {
        let wakeUp = state.withLockedValue { state -> WakeUp in
            if state.closeCode == nil { state.closeCode = code }
            state.abandon = true
            return state.wakeUp()
        }
        wakeUp.run()
    }

    /// Takes the next item for the writer (control first, then audio, then video, then the close), or
    /// returns nil and marks the drain finished, so the next enqueue schedules another.
    func pop() -> Item? {
        let (item, stale) = state.withLockedValue { state -> (Item?, MediaQueue<ByteBuffer>.PopResult?) in
            let (item, stale) = state.popItem()
            if item == nil { state.drainScheduled = false }
            if let stale { state.staleDrops.merge(stale.dropped, uniquingKeysWith: +) }
            return (item, stale)
        }
        if let stale, !stale.dropped.isEmpty {
            statistics.mediaLeft(stale.removedBytes)
            statistics.dropped(stale.dropped.values.reduce(0, +))
        }
        if case .binary(let buffer) = item { statistics.mediaLeft(buffer.readableBytes) }
        return item
    }

    /// The close, when the outbox is closing at once (``abandon(_:)``): it needs no writing,
    /// so the writer hands it on even while the channel is full.
    func takeAbandonedClose() -> (TandemCloseCode, String)? {
        state.withLockedValue { state in
            guard state.abandon, state.reachedClose == nil, let code = state.closeCode else { return nil }
            return (code, state.closeReason ?? code.reason)
        }
    }

    /// The writer reached the close after everything queued before it.
    func reached(close code: TandemCloseCode, reason: String) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<(TandemCloseCode, String), Never>? in
            state.reachedClose = (code, reason)
            defer { state.closeWaiter = nil }
            return state.closeWaiter
        }
        waiter?.resume(returning: (code, reason))
    }

    /// Waits until the writer has written everything queued before the close, and returns
    /// the close to send.
    func closing() async -> (TandemCloseCode, String) {
        await withCheckedContinuation { continuation in
            let reached = state.withLockedValue { state -> (TandemCloseCode, String)? in
                if let reached = state.reachedClose { return reached }
                state.closeWaiter = continuation
                return nil
            }
            if let reached { continuation.resume(returning: reached) }
        }
    }
}

extension ParticipantOutbox.State {
    /// Whom to wake now that there may be something to deliver.
    mutating func wakeUp() -> ParticipantOutbox.WakeUp {
        var wakeUp = ParticipantOutbox.WakeUp()
        // An abandoned close needs no writability: wake a drain parked on a full channel too.
        if let writer, !drainScheduled || abandon, hasItem {
            drainScheduled = true
            wakeUp.writer = writer
        }
        return wakeUp
    }

    var hasItem: Bool { closeCode != nil || !control.isEmpty || !media.isEmpty || !audio.isEmpty }

    mutating func popItem() -> (ParticipantOutbox.Item?, MediaQueue<ByteBuffer>.PopResult?) {
        if reachedClose != nil { return (nil, nil) }
        if abandon, let closeCode { return (.close(closeCode, closeReason ?? closeCode.reason), nil) }
        if let text = control.popFirst() { return (.text(text), nil) }
        // Audio before video; what either lane dropped as stale is reported together.
        var stale = MediaQueue<ByteBuffer>.PopResult()
        if !audio.isEmpty {
            let popped = audio.popFirst(now: .now)
            stale.addDrops(of: popped)
            if let entry = popped.entry { return (.binary(entry.frame), stale) }
        }
        if !media.isEmpty {
            let popped = media.popFirst(now: .now)
            stale.addDrops(of: popped)
            if let entry = popped.entry { return (.binary(entry.frame), stale) }
        }
        if let closeCode { return (.close(closeCode, closeReason ?? closeCode.reason), stale) }
        return (nil, stale)
    }
}
