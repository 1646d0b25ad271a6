import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Handing a live session from one agent to another (protocol/README.md §17).
extension SessionStateMachine {
    /// What to do with the agent's request to hand the session over.
    public enum TransferRequestedAction: Sendable, Equatable {
        /// Detach the agent's connection and queue the session for another agent until `until`.
        case awaitAgent(until: Date)
        /// The session cannot be transferred: it is not live, its agent is away, a transfer
        /// is already pending, or the wait would already be over.
        case reject
    }

    /// The agent hands the live session over (`session.transfer` or the API): another agent
    /// may take it until `until`, the end of the transfer wait. Meanwhile the customer's
    /// media and messages are dropped; if nobody takes it in time, ``tick(now:)`` ends it
    /// as `transfer-unanswered`.
    public mutating func transferRequested(at: Date, until: Date) -> TransferRequestedAction {
        switch state {
        case .live:
            guard transfer == nil, away[.agent] == nil, at < until else { return .reject }
            transfer = Away(since: at, until: until)
            return .awaitAgent(until: until)
        case .waitingForCustomer, .ended:
            return .reject
        }
    }

    /// What to do with an agent that takes the transferred session.
    public enum AgentAssignedAction: Sendable, Equatable {
        /// Attach the new agent's connection and catch it up; the session waited since `waitingSince`.
        case assign(waitingSince: Date)
        /// The session cannot be taken: no transfer is pending, its wait ran out, or the
        /// session is not live.
        case reject
    }

    /// Another agent took the transferred session from the queue (`hello.take`, §16) before
    /// the transfer's wait ran out.
    public mutating func agentAssigned(at: Date) -> AgentAssignedAction {
        switch state {
        case .live:
            guard let pending = transfer, at < pending.until else { return .reject }
            transfer = nil
            return .assign(waitingSince: pending.since)
        case .waitingForCustomer, .ended:
            return .reject
        }
    }
}
