import Logging
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One floor across brokers sharing PostgreSQL (protocol/README.md §20.7): this broker
/// publishes its agents and queue, reads the other brokers' agents and queues, offers their
/// waiting customers to its own agents (claiming each in the database first), and sends an
/// agent whose next customer waits elsewhere to that broker.
extension SessionHub {
    /// Publishes what changed and reads the other brokers' agents and queues. Called every second.
    func syncSharedFloor(now: Date) async {
        guard let registry else { return }
        let agents = localAgentList(now: now).map { agent in
            // `since` moves for offline agents with sessions (their first session): compare without it.
            var agent = agent
            if agent.state == .offline { agent.since = Date(timeIntervalSince1970: 0) }
            return agent
        }
        do {
            if agents != publishedAgents || now.timeIntervalSince(lastFullAgentsPublish) >= 30 {
                try await registry.publishAgents(agents)
                publishedAgents = agents
                lastFullAgentsPublish = now
            }
            await publishQueueChanges()
            let aliveSince = now.addingTimeInterval(-configuration.brokerLostAfter.seconds)
            remoteAgents = try await registry.remoteAgents(aliveSince: aliveSince)
            remoteEntries = Dictionary(try await registry.remoteQueue(aliveSince: aliveSince).map { ($0.entry.id, $0) }) { first, _ in first }
            claimedElsewhere = try await registry.claimedHere(now: now)
            floor.forgetRefusals(keeping: Set(queue.byPrecedence.map(\.id)).union(remoteEntries.keys))
        } catch {
            logger.warning("Could not share the floor with the other brokers", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            return
        }
        // Offers of another broker's entries that went away there (taken, left): withdrawn;
        // and the URLs of offers that ended are forgotten.
        for (offerID, _) in remoteOfferURLs {
            guard let offer = floor.offers[offerID] else {
                remoteOfferURLs[offerID] = nil
                continue
            }
            guard remoteEntries[offer.queueID] == nil else { continue }
            remoteOfferURLs[offerID] = nil
            withdrawOffer(forEntry: offer.queueID, reason: .taken)
        }
        // Entries here that an agent of another broker now holds: not on offer here too.
        for id in claimedElsewhere where floor.offer(forEntry: id) != nil {
            withdrawOffer(forEntry: id, reason: .taken)
        }
    }

    /// Writes this broker's queue changes (entries added, moved, offered, gone) to the
    /// database. One write at a time: a call while one is under way is folded into another
    /// round after it, so what is recorded as published is what was written.
    func publishQueueChanges() async {
        guard let registry else { return }
        guard !publishingQueue else {
            queueChangedWhilePublishing = true
            return
        }
        publishingQueue = true
        defer { publishingQueue = false }
        repeat {
            queueChangedWhilePublishing = false
            var state: [String: String] = [:]
            var upsert: [SharedQueueEntry] = []
            for entry in queue.byPrecedence {
                let offeredUntil = floor.offer(forEntry: entry.id)?.until
                let signature = "\(entry.line)/\(entry.forAgent ?? "")/\(offeredUntil?.epochMilliseconds ?? 0)"
                state[entry.id] = signature
                if publishedQueue[entry.id] != signature { upsert.append(SharedQueueEntry(entry: entry, offeredUntil: offeredUntil)) }
            }
            let remove = publishedQueue.keys.filter { state[$0] == nil }
            // Now and then everything again, and whatever else this broker has there removed:
            // after a broker was taken for lost and came back, its rows were deleted.
            let full = Date().timeIntervalSince(lastFullQueuePublish) >= 30
            guard full || !upsert.isEmpty || !remove.isEmpty else { return }
            do {
                if full {
                    try await registry.publishQueue(
                        upsert: queue.byPrecedence.map { SharedQueueEntry(entry: $0, offeredUntil: floor.offer(forEntry: $0.id)?.until) },
                        remove: [],
                        keepOnly: Array(state.keys)
                    )
                    lastFullQueuePublish = Date()
                } else {
                    try await registry.publishQueue(upsert: upsert, remove: remove, keepOnly: nil)
                }
                publishedQueue = state
            } catch {
                logger.warning("Could not publish the queue to the other brokers", metadata: ["error": "\(String(reflecting: type(of: error)))"])
                return
            }
        } while queueChangedWhilePublishing
    }

    /// Other brokers' entries that this broker may offer now: unclaimed, not on offer at
    /// their own broker, and waiting a second (their own broker's agents go first).
    func offerableRemoteEntries(now: Date) -> [SupportQueue.Entry] {
        remoteEntries.values.filter { shared in
            (shared.claimedUntil.map { $0 < now } ?? true) && (shared.offeredUntil.map { $0 < now } ?? true)
                && now.timeIntervalSince(shared.entry.enteredAt) >= 1
        }.map(\.entry)
    }

    /// Claims another broker's entry for the agent an offer goes to; false when someone else
    /// got there first (the offer is then not made).
    func claimRemote(_ offer: SupportFloor.Offer, now: Date) async -> Bool {
        guard let registry, let shared = remoteEntries[offer.queueID], let url = shared.url else { return false }
        do {
            guard try await registry.claimForOffer(queueID: offer.queueID, agent: offer.agent, until: offer.until, now: now) else { return false }
        } catch {
            logger.warning("Could not claim another broker's queue entry", metadata: ["tandem.queue.id": "\(offer.queueID)"])
            return false
        }
        // The offer ended while the claim was written (the agent left, went away): give it back.
        guard floor.offers[offer.id] != nil else {
            try? await registry.releaseClaim(queueID: offer.queueID, agent: offer.agent)
            return false
        }
        remoteOfferURLs[offer.id] = url
        return true
    }

    /// An offer of another broker's entry ended without a take here: its claim is given up.
    func releaseRemote(_ offer: SupportFloor.Offer) async {
        guard remoteOfferURLs.removeValue(forKey: offer.id) != nil, let registry else { return }
        try? await registry.releaseClaim(queueID: offer.queueID, agent: offer.agent)
    }

    /// The first entry of this broker that another broker claimed for `agent` (an offer it
    /// accepted there, or a pull that was sent here), taken off the queue.
    func entryClaimed(by agent: String, now: Date = Date()) async -> SupportQueue.Entry? {
        guard let registry else { return nil }
        do {
            for id in try await registry.claimedEntries(forAgent: agent, now: now) {
                if let entry = queue.remove(id: id) { return entry }
            }
        } catch {
            logger.warning("Could not read the claims of the other brokers", metadata: ["error": "\(String(reflecting: type(of: error)))"])
        }
        return nil
    }

    enum SharedTake: Sendable {
        /// An entry of this broker claimed for the agent on another broker: take it here.
        case local(SupportQueue.Entry)
        /// The agent's next entry waits on another broker: it is claimed there for the offer timeout.
        case elsewhere(url: String)
        case none
    }

    /// Where `agent` pulling from `line` finds its next entry across brokers: an entry here
    /// claimed for it elsewhere first, then another broker's entry that comes before this
    /// broker's own next one.
    func sharedTake(agent: String, line: String, now: Date = Date()) async -> SharedTake {
        guard let registry else { return .none }
        if let entry = await entryClaimed(by: agent, now: now) { return .local(entry) }
        do {
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
