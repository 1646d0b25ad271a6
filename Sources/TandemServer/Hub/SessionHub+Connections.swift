import Logging
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Every open participant connection, and the graceful shutdown that ends sessions and
/// closes connections.
extension SessionHub {
    nonisolated var connectionCount: Int { connections.withLockedValue { $0.count } }

    nonisolated func connectionOpened(_ outbox: ParticipantOutbox) {
        connections.withLockedValue { $0[ObjectIdentifier(outbox)] = outbox }
    }

    nonisolated func connectionClosed(_ outbox: ParticipantOutbox) {
        let empty = connections.withLockedValue { connections in
            connections[ObjectIdentifier(outbox)] = nil
            return connections.isEmpty
        }
        connectionsClosed.wrappingIncrement(ordering: .relaxed)
        if empty { resumeDrainWaiters() }
    }

    /// Ends every live session with `broker-shutdown` (written to the log first), closes every
    /// connection with 1001, and waits up to `drainTimeout` for the close frames to go out.
    func shutDown(drainTimeout: Duration = .seconds(5)) async {
        shuttingDown.withLockedValue { $0 = true }
        for session in sessions.values {
            await end(session, reason: .brokerShutdown)
        }
        for outbox in connections.withLockedValue({ Array($0.values) }) {
            outbox.finish(.goingAway)
        }
        logger.debug("Draining connections", metadata: ["tandem.connections": "\(connections.withLockedValue { $0.count })"])
        // Whichever comes first: the last connection closing, or the drain timeout.
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: drainTimeout) }
            group.addTask { await self.connectionsDrained() }
            await group.next()
            group.cancelAll()
        }
    }

    /// Returns when no connection is open (at once if none is), or when cancelled.
    nonisolated func connectionsDrained() async {
        let id = UUID()
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                // Registered under the connections' lock, so a close cannot slip in between
                // the check and the registration.
                let done = connections.withLockedValue { connections -> Bool in
                    if connections.isEmpty { return true }
                    drainWaiters.withLockedValue { $0[id] = continuation }
                    return false
                }
                if done {
                    continuation.resume()
                } else if Task.isCancelled, let waiter = drainWaiters.withLockedValue({ $0.removeValue(forKey: id) }) {
                    // Cancelled before the handler could see the registration.
                    waiter.resume()
                }
            }
        } onCancel: {
            drainWaiters.withLockedValue { $0.removeValue(forKey: id) }?.resume()
        }
    }

    private nonisolated func resumeDrainWaiters() {
        let waiters = drainWaiters.withLockedValue { waiters in
            defer { waiters = [:] }
            return Array(waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }
}
