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
        connections.withLockedValue { $0[ObjectIdentifier(outbox)] = nil }
        connectionsClosed.wrappingIncrement(ordering: .relaxed)
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
        let deadline = ContinuousClock.now.advanced(by: drainTimeout)
        while ContinuousClock.now < deadline, !connections.withLockedValue({ $0.isEmpty }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}
