import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Supervisors in a live session (protocol/README.md §18).
extension LiveSession {
    /// Adds `watcher` to a live session: it gets `welcome`, then every stream and overlay,
    /// before any live message. False when the session has ended.
    func addWatcher(_ watcher: SessionWatcher, now: Date, welcome: (_ agent: String, _ customerPresent: Bool) -> SessionWatching) -> Bool {
        state.withLockedValue { state in
            guard !state.machine.isEnded else { return false }
            _ = watcher.outbox.enqueue(.sessionWatching(welcome(state.agent, state.outboxes[.customer] != nil)))
            for message in state.catchUp(for: nil, now: now) { _ = watcher.outbox.enqueue(message) }
            state.watchers.append(watcher)
            return true
        }
    }

    /// Removes `watcher`; false when it was not in the session (any more).
    @discardableResult
    func removeWatcher(_ watcher: SessionWatcher) -> Bool {
        state.withLockedValue { state in
            let before = state.watchers.count
            state.watchers.removeAll { $0 === watcher }
            return state.watchers.count != before
        }
    }

    var watchers: [SessionWatcher] { state.withLockedValue { $0.watchers } }

    /// Sends `message` to every supervisor.
    func tellWatchers(_ message: ControlMessage) {
        for watcher in watchers { _ = watcher.outbox.enqueue(message) }
    }

    /// Tells everyone connected who is present now.
    func announcePresence() {
        state.withLockedValue { state in
            var present: [SessionPresence.Person] = []
            if state.outboxes[.agent] != nil { present.append(.init(name: state.agent, role: .agent)) }
            if state.outboxes[.customer] != nil { present.append(.init(name: "customer", role: .customer)) }
            present += state.watchers.map(\.person)
            // Encoded once for everyone.
            let message = ControlMessage.sessionPresence(SessionPresence(present: present)).jsonBuffer
            for outbox in state.outboxes.values { _ = outbox.enqueue(control: message) }
            for watcher in state.watchers { _ = watcher.outbox.enqueue(control: message) }
        }
    }

    /// A participating supervisor's annotation or chat: applied like the agent's (`update`),
    /// then sent to the agent, the customer and the other supervisors.
    func relayFromSupervisor(
        _ sender: SessionWatcher,
        _ update: (inout SessionActivity) -> Result<ControlMessage, SessionActivity.Rejection>
    ) -> ControlRelay {
        state.withLockedValue { state in
            guard !state.machine.isEnded else { return .ended }
            switch update(&state.activity) {
            case .failure(let rejection):
                return .rejected(rejection)
            case .success(let message):
                let encoded = message.jsonBuffer
                for outbox in state.outboxes.values { _ = outbox.enqueue(control: encoded) }
                for watcher in state.watchers where watcher !== sender { _ = watcher.outbox.enqueue(control: encoded) }
                return .accepted(message, peer: nil, watchers: [])
            }
        }
    }
}
