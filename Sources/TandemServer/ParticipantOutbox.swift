import DequeModule
import NIOConcurrencyHelpers
import NIOCore
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
        case close(TandemCloseCode)
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

    fileprivate struct State {
        var control = Deque<String>()
        var media = Deque<ByteBuffer>()
        var closeCode: TandemCloseCode?
        /// Close at once, discarding what is queued.
        var abandon = false
        var waiter: CheckedContinuation<Void, Never>?
        var mediaDropped = 0
    }

    private let limits: Limits
    private let state = NIOLockedValueBox(State())

    init(limits: Limits) {
        self.limits = limits
    }

    var mediaDropped: Int { state.withLockedValue { $0.mediaDropped } }

    func enqueue(_ message: ControlMessage) -> EnqueueResult {
        enqueue(control: message.jsonText)
    }

    func enqueue(control text: String) -> EnqueueResult {
        let (result, waiter) = state.withLockedValue { state -> (EnqueueResult, CheckedContinuation<Void, Never>?) in
            guard state.closeCode == nil else { return (.closed, nil) }
            guard state.control.count < limits.controlCapacity else {
                state.closeCode = .slowConsumer
                state.abandon = true
                return (.overflow, state.takeWaiter())
            }
            state.control.append(text)
            return (.queued, state.takeWaiter())
        }
        waiter?.resume()
        return result
    }

    func enqueue(media buffer: ByteBuffer) -> EnqueueResult {
        let (result, waiter) = state.withLockedValue { state -> (EnqueueResult, CheckedContinuation<Void, Never>?) in
            guard state.closeCode == nil else { return (.closed, nil) }
            var result = EnqueueResult.queued
            if state.media.count >= limits.mediaCapacity {
                state.media.removeFirst()
                state.mediaDropped += 1
                result = .droppedOldest
            }
            state.media.append(buffer)
            return (result, state.takeWaiter())
        }
        waiter?.resume()
        return result
    }

    /// Delivers what is queued, then closes with `code`. Later calls keep the first code.
    func finish(_ code: TandemCloseCode) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            if state.closeCode == nil { state.closeCode = code }
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
            if let item = state.withLockedValue({ $0.popItem() }) { return item }
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
        if abandon, let closeCode { return .close(closeCode) }
        if let text = control.popFirst() { return .text(text) }
        if let buffer = media.popFirst() { return .binary(buffer) }
        if let closeCode { return .close(closeCode) }
        return nil
    }
}
