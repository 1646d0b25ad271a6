import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reconnecting (protocol/README.md §5.13): a participant whose connection drops is away for
/// the grace period and may come back with its resume token.
extension SessionStateMachine {
    /// What to do when a participant's connection dropped.
    public enum ParticipantDroppedAction: Sendable, Equatable {
        /// Detach the participant's connection, tell the other participant that it is away
        /// until `until`, and log the gap's start.
        case awaitReturn(until: Date)
        /// No grace period: persist the ending, then tell every connected participant and
        /// close their connections.
        case end(SessionEnding)
        /// The session had already ended (this ending); nothing changes.
        case alreadyEnded(SessionEnding)
    }

    /// The connection of `role` closed without `session.end`, or was found dead: the
    /// participant is away and may resume until `until`, the end of its grace period. It
    /// stays away since its first drop. With no grace period left (`until` not after `at`)
    /// the session ends as `agent-left` or `customer-left` at once.
    public mutating func participantDropped(_ role: ParticipantRole, at: Date, until: Date) -> ParticipantDroppedAction {
        switch state {
        case .waitingForCustomer, .live:
            guard at < until else { return .end(endSession(reason: Self.leftReason(role), outcome: nil, note: nil, at: at)) }
            away[role] = Away(since: away[role]?.since ?? at, until: until)
            return .awaitReturn(until: until)
        case .ended(let ending):
            return .alreadyEnded(ending)
        }
    }

    /// What to do with a participant that comes back.
    public enum ParticipantReturnedAction: Sendable, Equatable {
        /// Attach the participant's new connection and catch it up; log the gap (`awaySince`).
        case resume(awaySince: Date)
        /// Refuse the resume (close 4411): the participant is not away, its grace period
        /// passed, or the session ended.
        case reject
    }

    /// The participant of `role`, away since its connection dropped, reconnected with its
    /// resume token (`hello.resume`) before its grace period ended.
    public mutating func participantReturned(_ role: ParticipantRole, at: Date) -> ParticipantReturnedAction {
        switch state {
        case .waitingForCustomer, .live:
            guard let gone = away[role], at < gone.until else { return .reject }
            away[role] = nil
            return .resume(awaySince: gone.since)
        case .ended:
            return .reject
        }
    }

    /// What to do with a participant that reconnects over its own live connection.
    public enum ParticipantReplacedAction: Sendable, Equatable {
        /// Attach the participant's new connection in place of the old one (closed with
        /// 4412) and catch it up.
        case takeOver
        /// Refuse the resume (close 4411): the session ended, or the customer never joined.
        case reject
    }

    /// The participant of `role` reconnected with its resume token while its old connection
    /// still looked alive (not yet found dead): the new connection replaces the old one
    /// without a gap, and the participant is not away any more.
    public mutating func participantReplaced(_ role: ParticipantRole) -> ParticipantReplacedAction {
        switch state {
        case .waitingForCustomer:
            switch role {
            case .agent:
                away[role] = nil
                return .takeOver
            case .customer:
                return .reject
            }
        case .live:
            away[role] = nil
            return .takeOver
        case .ended:
            return .reject
        }
    }
}
