/// The deadlines of one relay connection (protocol/README.md §2, §13): the hello must come
/// within the hello timeout, a connection where nothing moved either way for the idle
/// timeout is closed, and a recipient that overflowed its control queue gets a grace period
/// to take its close before the connection is cut. So do a connection closed as idle and one
/// whose reading ended: a peer that stopped reading cannot keep it open by never taking the
/// close. One timer serves all three: the caller
/// arms it at ``nextDeadline`` and reports when it fires. Pure: the caller passes the time.
public struct ConnectionDeadlines: Sendable {
    public typealias Instant = ContinuousClock.Instant

    private enum State: Sendable, Equatable {
        /// Waiting for the hello until the deadline.
        case awaitingHello(deadline: Instant)
        case open
        /// The recipient overflowed: the connection is cut at the deadline.
        case cutting(deadline: Instant)
        /// Nothing more to time.
        case done
    }

    private var state: State
    private let idleTimeout: Duration
    private let cutGrace: Duration
    private let closeGrace: Duration

    /// `cutGrace`: how long an overflowed or idle recipient gets to take its close;
    /// `closeGrace`: how long the close may take once reading ended.
    public init(openedAt: Instant, helloTimeout: Duration, idleTimeout: Duration, cutGrace: Duration, closeGrace: Duration = .seconds(10)) {
        self.state = .awaitingHello(deadline: openedAt + helloTimeout)
        self.idleTimeout = idleTimeout
        self.cutGrace = cutGrace
        self.closeGrace = closeGrace
    }

    /// When the timer must fire next, given the last activity; nil when nothing is timed.
    public func nextDeadline(lastActivity: Instant) -> Instant? {
        switch state {
        case .awaitingHello(let deadline): min(deadline, lastActivity + idleTimeout)
        case .open: lastActivity + idleTimeout
        case .cutting(let deadline): deadline
        case .done: nil
        }
    }

    /// The hello arrived: its deadline no longer applies. Handling it (the store's work) may
    /// take longer on a loaded broker; that is not the client's delay, and a client that sent
    /// its hello in time is never told it did not.
    public mutating func helloReceived() {
        switch state {
        case .awaitingHello: state = .open
        case .open, .cutting, .done: break
        }
    }

    public enum OverflowedAction: Sendable, Equatable {
        /// Re-arm the timer: the cut is now the next deadline.
        case armCut(at: Instant)
        case none
    }

    /// The recipient overflowed its control queue and is being sent its close.
    public mutating func overflowed(now: Instant) -> OverflowedAction {
        switch state {
        case .awaitingHello, .open:
            let deadline = now + cutGrace
            state = .cutting(deadline: deadline)
            return .armCut(at: deadline)
        case .cutting, .done:
            return .none
        }
    }

    public enum TimerFiredAction: Sendable, Equatable {
        /// No hello in time: refuse with 4408.
        case refuseHello
        /// Nothing moved for the idle timeout: close with 4413.
        case closeIdle
        /// The overflowed recipient did not take its close: cut the connection.
        case cutConnection
        /// Not yet: arm the timer again.
        case rearm(at: Instant)
        case stop
    }

    /// The timer fired at `now`; `lastActivity` is when something last moved either way.
    public mutating func timerFired(now: Instant, lastActivity: Instant) -> TimerFiredAction {
        switch state {
        case .awaitingHello(let deadline):
            if now >= deadline {
                state = .open
                return .refuseHello
            }
            return idleCheck(now: now, lastActivity: lastActivity) ?? .rearm(at: min(deadline, lastActivity + idleTimeout))
        case .open:
            return idleCheck(now: now, lastActivity: lastActivity) ?? .rearm(at: lastActivity + idleTimeout)
        case .cutting(let deadline):
            guard now >= deadline else { return .rearm(at: deadline) }
            state = .done
            return .cutConnection
        case .done:
            return .stop
        }
    }

    public enum ReadEndedAction: Sendable, Equatable {
        /// Re-arm the timer: the connection is cut at this deadline unless it ended before.
        case armCut(at: Instant)
        case none
    }

    /// The connection's reading ended (the peer closed, broke the protocol, or the broker
    /// refused it): what is queued and the close go out, and the connection ends, within
    /// the close grace.
    public mutating func readEnded(now: Instant) -> ReadEndedAction {
        switch state {
        case .awaitingHello, .open:
            let deadline = now + closeGrace
            state = .cutting(deadline: deadline)
            return .armCut(at: deadline)
        case .cutting, .done:
            return .none
        }
    }

    /// The connection ended: nothing more is timed.
    public mutating func connectionEnded() {
        state = .done
    }

    private mutating func idleCheck(now: Instant, lastActivity: Instant) -> TimerFiredAction? {
        guard now - lastActivity >= idleTimeout else { return nil }
        // Closed as idle; cut if the close is not taken within the grace period.
        state = .cutting(deadline: now + cutGrace)
        return .closeIdle
    }
}
