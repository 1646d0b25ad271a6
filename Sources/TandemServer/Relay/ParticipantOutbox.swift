import DequeModule
import NIOConcurrencyHelpers
import NIOCore
import TandemCore
import TandemProtocol

/// The bounded queue between the relay and one participant's WebSocket writer.
///
/// Control messages are never dropped: past ``Limits/controlCapacity`` the recipient is
/// too slow and is disconnected. Media frames are droppable: past ``Limits/mediaCapacity``
/// the oldest queued frame is dropped. Frame buffers are queued as received, never copied.
final class ParticipantOutbox: Sendable {
    struct Limits: Sendable {
        var mediaCapacity: Int
        var controlCapacity: Int
    }

    enum Item: Sendable {
        case text(String)
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
        var control = Deque<String>()
        /// The media policy (TandemCore's ``MediaQueue``): bounded, latest frames win, keyframe-aware.
        var media: MediaQueue<ByteBuffer>
        var closeCode: TandemCloseCode?
        /// The close frame's reason text when it is not the code's own (``TandemCloseCode/reason``).
        var closeReason: String?
        /// Close at once, discarding what is queued.
        var abandon = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let limits: Limits
    private let statistics: BrokerStatistics
    /// The connection's place in the admission budgets; told when the participant is
    /// welcomed (``ControlMessage/isWelcome``), before the welcome can reach it.
    let ticket: AdmissionTicket?
    private let state: NIOLockedValueBox<State>

    /// Yields once when the recipient overflows its control queue, so the connection can be
    /// cut even if a write to the stalled recipient is blocked.
    let overflowed: AsyncStream<Void>
    private let overflowedSink: AsyncStream<Void>.Continuation

    init(limits: Limits, statistics: BrokerStatistics = BrokerStatistics(), ticket: AdmissionTicket? = nil) {
        self.limits = limits
        self.statistics = statistics
        self.ticket = ticket
        self.state = NIOLockedValueBox(State(media: MediaQueue(capacity: limits.mediaCapacity, keyframeRequestInterval: Self.keyframeRequestInterval)))
        (overflowed, overflowedSink) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    func enqueue(_ message: ControlMessage) -> EnqueueResult {
        if message.isWelcome { ticket?.welcome() }
        return enqueue(control: message.jsonText)
    }

    func enqueue(control text: String) -> EnqueueResult {
        let (result, waiter) = state.withLockedValue { state -> (EnqueueResult, CheckedContinuation<Void, Never>?) in
            guard state.closeCode == nil else { return (.closed, nil) }
            guard state.control.count < limits.controlCapacity else {
                state.closeCode = .slowConsumer
                state.abandon = true
                overflowedSink.yield()
                overflowedSink.finish()
                return (.overflow, state.takeWaiter())
            }
            state.control.append(text)
            return (.queued, state.takeWaiter())
        }
        waiter?.resume()
        return result
    }

    /// Queues a frame under ``MediaQueue``'s policy (latest frames win; a stream that lost a
    /// frame waits for its next keyframe, asked for at most every ``keyframeRequestInterval``)
    /// and keeps the statistics of what it queued and dropped.
    func enqueue(media buffer: ByteBuffer, streamID: UInt16, keyframe: Bool) -> MediaResult {
        let (queued, waiter) = state.withLockedValue { state -> (MediaQueue<ByteBuffer>.EnqueueResult?, CheckedContinuation<Void, Never>?) in
            guard state.closeCode == nil else { return (nil, nil) }
            let queued = state.media.enqueue(buffer, bytes: buffer.readableBytes, streamID: streamID, keyframe: keyframe, now: .now)
            return (queued, queued.queued ? state.takeWaiter() : nil)
        }
        guard let queued else { return MediaResult(outcome: .closed) }
        if queued.removedBytes > 0 { statistics.mediaLeft(queued.removedBytes) }
        if queued.queued { statistics.mediaQueued(buffer.readableBytes) }
        let dropped = queued.dropped.values.reduce(0, +)
        if dropped > 0 { statistics.dropped(dropped) }
        waiter?.resume()
        return MediaResult(outcome: queued.dropped.isEmpty ? .queued : .droppedOldest, dropped: queued.dropped, keyframeRequests: queued.keyframeRequests)
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
        let (discarded, bytes) = state.withLockedValue { $0.media.removeAll() }
        statistics.mediaLeft(bytes)
        statistics.dropped(discarded.values.reduce(0, +))
        return discarded
    }

    static let keyframeRequestInterval: Duration = .milliseconds(500)

    /// Frames currently queued (for tests and metrics).
    var queuedFrames: Int { state.withLockedValue { $0.media.count } }

    /// Delivers what is queued, then closes with `code` (and `reason` instead of the code's
    /// own text). Later calls keep the first code.
    func finish(_ code: TandemCloseCode, reason: String? = nil) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            if state.closeCode == nil {
                state.closeCode = code
                state.closeReason = reason
            }
            return state.takeWaiter()
        }
        waiter?.resume()
    }

    /// Closes with `code` at once, discarding what is queued.
    func abandon(_ code: TandemCloseCode) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            if state.closeCode == nil { state.closeCode = code }
            state.abandon = true
            return state.takeWaiter()
        }
        waiter?.resume()
    }

    /// The next item for the writer: control first, then media, then the close.
    func next() async -> Item {
        while true {
            if let item = state.withLockedValue({ $0.popItem() }) {
                if case .binary(let buffer) = item { statistics.mediaLeft(buffer.readableBytes) }
                return item
            }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLockedValue { state -> Bool in
                    if state.hasItem { return true }
                    state.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }
}

extension ParticipantOutbox.State {
    mutating func takeWaiter() -> CheckedContinuation<Void, Never>? {
        defer { waiter = nil }
        return waiter
    }

    var hasItem: Bool { closeCode != nil || !control.isEmpty || !media.isEmpty }

    mutating func popItem() -> ParticipantOutbox.Item? {
        if abandon, let closeCode { return .close(closeCode, closeReason ?? closeCode.reason) }
        if let text = control.popFirst() { return .text(text) }
        if let entry = media.popFirst() { return .binary(entry.frame) }
        if let closeCode { return .close(closeCode, closeReason ?? closeCode.reason) }
        return nil
    }
}
