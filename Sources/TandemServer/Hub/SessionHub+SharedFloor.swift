import Logging
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One floor across brokers sharing PostgreSQL (protocol/README.md §20.7): this broker
/// publishes its agents and queue every second when they changed, reads the other brokers'
/// agents, and sends an agent whose next customer waits elsewhere to that broker.
extension SessionHub {
    /// Publishes what changed and refreshes the other brokers' agents. Called every second.
    func syncSharedFloor(now: Date) async {
        guard let registry else { return }
        let agents = localAgentList(now: now).map { agent in
            // `since` moves for offline agents with sessions (their first session): compare without it.
            var agent = agent
            if agent.state == .offline { agent.since = Date(timeIntervalSince1970: 0) }
            return agent
        }
        let queueSignature = queue.byPrecedence.map { "\($0.id)/\($0.line)/\($0.forAgent ?? "")" }
        do {
            if agents != publishedAgents {
                try await registry.publishAgents(agents)
                publishedAgents = agents
            }
            if queueSignature != publishedQueue {
                try await registry.publishQueue(queue.byPrecedence)
                publishedQueue = queueSignature
            }
            remoteAgents = try await registry.remoteAgents(aliveSince: now.addingTimeInterval(-configuration.brokerLostAfter.seconds))
        } catch {
            logger.warning("Could not share the floor with the other brokers", metadata: ["error": "\(String(reflecting: type(of: error)))"])
        }
    }

    enum SharedTake: Sendable {
        /// An entry of this broker claimed for the agent on another broker: take it here.
        case local(SupportQueue.Entry)
        /// The agent's next entry waits on another broker: it is claimed there for 15 s.
        case elsewhere(url: String)
        case none
    }

    /// Where `agent` pulling from `line` finds its next entry across brokers: an entry here
    /// claimed for it elsewhere first, then another broker's entry that comes before this
    /// broker's own next one.
    func sharedTake(agent: String, line: String, now: Date = Date()) async -> SharedTake {
        guard let registry else { return .none }
        do {
            for id in try await registry.claimedEntries(forAgent: agent, now: now) {
                if let entry = queue.remove(id: id) { return .local(entry) }
            }
            let local = queue.next(forAgent: agent, line: line)
            if let claimed = try await registry.claimQueueEntry(
                line: line,
                agent: agent,
                before: local,
                until: now.addingTimeInterval(configuration.routing.offerTimeout.seconds),
                aliveSince: now.addingTimeInterval(-configuration.brokerLostAfter.seconds),
                now: now
            ) {
                return .elsewhere(url: claimed.url)
            }
        } catch {
            logger.warning("Could not look at the other brokers' queues", metadata: ["error": "\(String(reflecting: type(of: error)))"])
        }
        return .none
    }
}
