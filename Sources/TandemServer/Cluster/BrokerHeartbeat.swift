import Logging
import ServiceLifecycle
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Keeps this broker registered in a shared database (protocol/README.md §14) and closes
/// the sessions of brokers that stopped answering: every `heartbeatInterval` it refreshes its
/// own row and ends, with `broker-lost`, the open sessions of brokers silent for
/// `brokerLostAfter`. On graceful shutdown it deregisters.
struct BrokerHeartbeat: Service {
    let registry: any BrokerRegistry
    let hub: SessionHub
    let configuration: BrokerConfiguration
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let url = await hub.joinBaseURL
                guard !url.isEmpty else {
                    // Not listening yet: register as soon as the address is known.
                    try await Task.sleep(for: .milliseconds(50))
                    continue
                }
                await beat(url: url)
                try await Task.sleep(for: configuration.heartbeatInterval)
            }
        }
        do {
            try await registry.deregister()
        } catch {
            logger.warning("Could not deregister from the broker registry", metadata: ["error": "\(String(reflecting: type(of: error)))"])
        }
    }

    private func beat(url: String) async {
        let now = Date()
        do {
            try await registry.heartbeat(url: url, at: now)
            let silentSince = now.addingTimeInterval(-configuration.brokerLostAfter.seconds)
            let closed = try await registry.closeSessionsOfLostBrokers(silentSince: silentSince, reason: .brokerLost)
            if !closed.isEmpty {
                logger.warning("Closed the sessions of a broker that stopped answering", metadata: ["tandem.sessions.closed": "\(closed.count)"])
            }
        } catch {
            logger.error("Broker heartbeat failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
        }
    }
}
