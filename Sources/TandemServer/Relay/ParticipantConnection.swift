import Logging
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One participant's connection as the relay sees it: where its messages go (its
/// ``ParticipantOutbox``), its deadlines, where it connects from, what its hello led to
/// (a session, or a place in the queue) and its rate guards.
///
/// Only the connection's reader task (``RelayConnection``) uses it, so it is not
/// `Sendable`; the ``ConnectionTimer``'s actions capture the outbox, never this object.
final class ParticipantConnection {
    /// What the connection is bound to after a successful hello.
    struct Binding {
        var session: LiveSession
        var role: ParticipantRole
        /// Set for a supervisor (§18); `role` is then `agent`.
        var watcher: SessionWatcher? = nil
    }

    /// The participant's queue of messages, drained by its ``OutboxWriter``.
    let outbox: ParticipantOutbox
    /// When anything last moved on the connection (for the idle timeout).
    let activity: ConnectionActivity
    /// The hello, idle and slow-consumer deadlines.
    let timer: ConnectionTimer
    /// Where the participant connects from.
    let client: ClientAddress
    /// The session the connection joined; set with ``bind(_:)``.
    private(set) var binding: Binding?
    /// The queue entry (§16) of a customer waiting for an agent; nil once bound.
    var waiter: QueueWaiter?
    /// The agent whose presence connection this is (§20.1).
    var presenceAgent: String?
    /// An admin's floor connection (§20.6).
    var isFloor = false
    /// The connection's logger; carries the session's metadata once bound.
    private(set) var logger: Logger
    /// Holds control messages to the broker's `controlRate`.
    var controlRate: RateGuard
    /// Holds binary frames to the broker's `frameRate`.
    var frameRate: RateGuard
    /// A customer's messages that write to the audit log (`customerLoggedRate`, §13).
    var loggedMessages: TokenBucket

    init(
        outbox: ParticipantOutbox,
        activity: ConnectionActivity,
        timer: ConnectionTimer,
        client: ClientAddress,
        limits: BrokerConfiguration.Limits,
        logger: Logger
    ) {
        self.outbox = outbox
        self.activity = activity
        self.timer = timer
        self.client = client
        self.logger = logger
        self.controlRate = limits.controlRate.guardState
        self.frameRate = limits.frameRate.guardState
        self.loggedMessages = TokenBucket(rate: limits.customerLoggedRate.perSecond, burst: limits.customerLoggedRate.burst)
    }

    /// Binds the connection to a session (it then no longer waits in the queue) and adds the
    /// session's id and ticket to the logger's metadata.
    func bind(_ binding: Binding) {
        self.binding = binding
        waiter = nil
        logger[metadataKey: "tandem.session.id"] = "\(binding.session.id)"
        logger[metadataKey: "tandem.ticket"] = "\(binding.session.ticket)"
    }

    /// Queues a control message to the participant.
    func send(_ message: ControlMessage) {
        _ = outbox.enqueue(message)
    }

    /// Queues an `error` to the participant; the connection stays open.
    func sendError(_ code: ErrorCode, _ message: String) {
        send(.error(ErrorMessage(code: code, message: message)))
    }

    /// Sends an `error` explaining the refusal, then closes with `code`. With an `identifier`
    /// other than the code's own (e.g. `queue-full` for 1013), the close reason is that
    /// identifier in words rather than the code's usual reason.
    func refuse(_ code: TandemCloseCode, message: String, retryAfter: Int? = nil, redirect: String? = nil, identifier: ErrorCode? = nil) {
        Self.refuse(code, outbox: outbox, message: message, retryAfter: retryAfter, redirect: redirect, identifier: identifier)
    }

    /// ``refuse(_:message:retryAfter:redirect:identifier:)`` with only the outbox, for the
    /// timer's actions, which run on the event loop and capture nothing else.
    static func refuse(
        _ code: TandemCloseCode,
        outbox: ParticipantOutbox,
        message: String,
        retryAfter: Int? = nil,
        redirect: String? = nil,
        identifier: ErrorCode? = nil
    ) {
        _ = outbox.enqueue(.error(ErrorMessage(code: identifier ?? code.identifier, message: message, retryAfter: retryAfter, redirect: redirect)))
        outbox.finish(code, reason: identifier.map { $0.rawValue.replacingOccurrences(of: "-", with: " ") })
    }
}
