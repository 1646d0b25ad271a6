import Logging
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What a waiting customer may do instead of waiting longer (protocol/README.md §20.3,
/// §20.4): overflow to the next line past the target, or leave a callback request.
extension SessionHub {
    /// Moves customers who waited past the target, without an open offer, to their line's
    /// overflow line (once each), logging `queue.overflowed`.
    func overflowQueue(now: Date) async {
        let overflow = configuration.routing.overflow
        guard !overflow.isEmpty else { return }
        let target = configuration.routing.queueTarget.seconds
        let due = queue.byPrecedence.filter { entry in
            guard case .customer = entry.kind, entry.overflowedFrom == nil, entry.forAgent == nil, overflow[entry.line] != nil else { return false }
            return now.timeIntervalSince(entry.enteredAt) > target && floor.offer(forEntry: entry.id) == nil
        }
        guard !due.isEmpty else { return }
        for entry in due {
            guard let to = overflow[entry.line] else { continue }
            // Moved first (it may have left or been taken meanwhile), logged, moved back on a failure.
            guard queue.entry(id: entry.id)?.overflowedFrom == nil, queue.move(id: entry.id, toLine: to) != nil else { continue }
            let waitedMs = now.epochMilliseconds - entry.enteredAt.epochMilliseconds
            let detail = ["queueId": entry.id, "from": entry.line, "to": to, "waitedMs": String(waitedMs)]
            do {
                try await store.recordEvent(sessionID: nil, kind: .queueOverflowed, actor: "system", detail: detail, at: now)
            } catch {
                logger.error("Could not record a queue overflow", metadata: ["tandem.queue.id": "\(entry.id)"])
                if queue.move(id: entry.id, toLine: entry.line) != nil { queue.clearOverflow(id: entry.id) }
                continue
            }
            withdrawOffer(forEntry: entry.id, reason: .overflowed)
            toldPositions[entry.id] = nil
            metrics.queueOverflowed()
            logger.info("Queue entry overflowed", metadata: ["tandem.queue.id": "\(entry.id)", "tandem.queue.line": "\(to)"])
        }
        publishQueueStatus(now: now)
    }

    /// Whether the queue still holds this entry.
    func isQueued(_ id: String) -> Bool { queue.entry(id: id) != nil }

    enum CallbackResult: Sendable {
        case recorded(QueueCallbackRecorded)
        /// Not offered yet, or the customer is no longer waiting.
        case unavailable
        /// A member over its length.
        case invalid(String)
    }

    /// `queue.callback` from a waiting customer: logged (and so sent to the webhooks), then
    /// the customer leaves the queue.
    func requestCallback(_ waiter: QueueWaiter, _ callback: QueueCallback, now: Date = Date()) async throws -> CallbackResult {
        if let field = callback.invalidField { return .invalid(field) }
        let after = configuration.routing.callbackAfter.seconds
        guard after > 0, now.timeIntervalSince(waiter.enteredAt) >= after, let entry = queue.remove(id: waiter.id) else { return .unavailable }
        waiters[waiter.id] = nil
        toldPositions[waiter.id] = nil
        withdrawOffer(forEntry: waiter.id, reason: .customerLeft)
        var detail = [
            "queueId": waiter.id, "ticket": entry.ticket, "tier": entry.tier.rawValue, "line": entry.line,
            "waitedMs": String(now.epochMilliseconds - waiter.enteredAt.epochMilliseconds), "message": callback.message,
        ]
        if let contact = callback.contact { detail["contact"] = contact }
        do {
            try await store.recordEvent(sessionID: nil, kind: .queueCallback, actor: "customer", detail: detail, at: now)
        } catch {
            // Nothing acknowledged that is not logged: back in the queue where it was (if the
            // queue filled up meanwhile, the customer's connection closes as after any failure).
            if queue.add(entry) { waiters[waiter.id] = waiter }
            throw error
        }
        metrics.callbackRequested()
        logger.info("Callback requested", metadata: ["tandem.queue.id": "\(waiter.id)", "tandem.ticket": "\(entry.ticket)"])
        publishQueueStatus(now: now)
        return .recorded(QueueCallbackRecorded(queueID: waiter.id, ticket: entry.ticket))
    }
}
