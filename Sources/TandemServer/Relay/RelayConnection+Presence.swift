import Logging
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Messages on connections that are not in a session (protocol/README.md §20): an agent's
/// presence connection, an admin's floor connection, and a waiting customer's callback request.
extension RelayConnection {
    /// A message on a presence or floor connection.
    func unboundControl(_ text: String, _ connection: ParticipantConnection) async {
        let message: ControlMessage
        do {
            message = try ControlMessage.decode(text: text)
        } catch {
            connection.sendError(error.identifier, "control message refused: \(error)")
            return
        }
        guard let name = connection.presenceAgent else {
            connection.sendError(.unexpectedMessage, "the floor only listens; \(message.type) is not accepted here")
            return
        }
        switch message {
        case .presenceSet(let presence):
            if let field = presence.invalidField {
                connection.sendError(.invalidField, "presence.set: \(field) is out of range (protocol/README.md §20.1)")
                return
            }
            switch await hub.setPresence(name, presence, outbox: connection.outbox) {
            case .applied:
                break
            case .throttled:
                connection.sendError(.presenceThrottled, "presence changed too often this hour: the change applies but is not logged until later")
            }
        case .queueDecline(let reference):
            if !(await hub.decline(offerID: reference.offerID, by: name, outbox: connection.outbox)) {
                connection.sendError(.offerGone, "no open offer \(reference.offerID) for you")
            }
        case .sessionEnd:
            // Going offline on purpose.
            connection.outbox.finish(.normal)
        default:
            connection.sendError(.unexpectedMessage, "a presence connection accepts presence.set, queue.decline and session.end, not \(message.type)")
        }
    }

    /// `queue.callback` from a waiting customer; true when it was recorded (the connection then closes).
    func requestCallback(_ callback: QueueCallback, waiter: QueueWaiter, _ connection: ParticipantConnection) async -> Bool {
        do {
            switch try await hub.requestCallback(waiter, callback) {
            case .recorded(let recorded):
                connection.send(.queueCallbackRecorded(recorded))
                connection.waiter = nil
                connection.outbox.finish(.normal)
                return true
            case .unavailable:
                connection.sendError(.callbackUnavailable, "a callback can be asked for once the waiting page offers it")
            case .invalid(let field):
                let limit = field == "contact" ? QueueCallback.maxContactLength : QueueCallback.maxMessageLength
                connection.sendError(.invalidField, "queue.callback: \(field) is limited to \(limit) characters")
            }
        } catch {
            connection.logger.error("Could not record a callback request")
            guard await hub.isQueued(waiter.id) else {
                connection.outbox.finish(.internalError)
                return true
            }
            connection.sendError(.internalError, "the broker could not log the request; you are still waiting, try again")
        }
        return false
    }
}
