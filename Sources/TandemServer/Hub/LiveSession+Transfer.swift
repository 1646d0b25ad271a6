import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Handing a live session from one agent to another (protocol/README.md §17).
extension LiveSession {
    /// Starts a transfer: detaches the agent's connection (returned, to be told and closed),
    /// stops the agent's streams and tells the customer. Nil when the session cannot be
    /// transferred now (not live, no agent connected, a transfer already pending).
    func beginTransfer(at: Date, until: Date, notice: SessionTransferred) -> ParticipantOutbox? {
        state.withLockedValue { state in
            guard let agent = state.outboxes[.agent] else { return nil }
            switch state.machine.transferRequested(at: at, until: until) {
            case .awaitAgent: break
            case .reject: return nil
            }
            state.outboxes[.agent] = nil
            let customer = state.outboxes[.customer]
            // The next agent shares its own streams; the customer stops showing the old ones.
            for stop in state.activity.stopAll(owner: .agent, audio: false) + state.activity.stopAll(owner: .agent, audio: true) {
                _ = customer?.enqueue(.streamStop(stop))
                for watcher in state.watchers { _ = watcher.outbox.enqueue(.streamStop(stop)) }
                recording?.control(from: .agent, .streamStop(stop))
            }
            // Voice goes off (§5.14): the next agent turns it on, and the customer is asked again.
            if case .forward = state.machine.voiceChanged(enabled: false) {
                for stop in state.activity.stopAll(owner: .customer, audio: true) {
                    for watcher in state.watchers { _ = watcher.outbox.enqueue(.streamStop(stop)) }
                    recording?.control(from: .customer, .streamStop(stop))
                }
                _ = customer?.enqueue(.voice(Voice(enabled: false)))
                for watcher in state.watchers { _ = watcher.outbox.enqueue(.voice(Voice(enabled: false))) }
                recording?.control(from: .agent, .voice(Voice(enabled: false)))
            }
            _ = customer?.enqueue(.sessionTransferred(notice))
            return agent
        }
    }

    /// The agent `name` takes the transferred session on `outbox`: it gets `welcome`, then
    /// the customer's streams and every overlay, before any live message; the customer is
    /// told who took it. Returns when the session waited since, or nil when it cannot be
    /// taken (ended, or the transfer's wait ran out).
    func assignAgent(
        _ name: String,
        outbox: ParticipantOutbox,
        at: Date,
        welcome: (_ customerPresent: Bool) -> SessionAssigned,
        notice: SessionTransferred
    ) -> Date? {
        state.withLockedValue { state in
            let since: Date
            switch state.machine.agentAssigned(at: at) {
            case .assign(let waitingSince): since = waitingSince
            case .reject: return nil
            }
            state.agent = name
            let customer = state.outboxes[.customer]
            var assigned = welcome(customer != nil)
            assigned.codecs = customer?.codecs
            _ = outbox.enqueue(.sessionAssigned(assigned))
            for message in state.catchUp(for: .agent, now: at) { _ = outbox.enqueue(message) }
            state.outboxes[.agent] = outbox
            var notice = notice
            notice.codecs = outbox.codecs
            _ = customer?.enqueue(.sessionTransferred(notice))
            return since
        }
    }
}
