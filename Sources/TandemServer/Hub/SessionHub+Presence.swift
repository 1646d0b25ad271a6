import Logging
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Agents online and offers (protocol/README.md §20.1, §20.2): presence connections, who is
/// offered which queue entry, declines, timeouts. Every change is logged before anyone is told.
extension SessionHub {
    /// Live sessions per agent on this broker (a session waiting for its transfer counts for nobody).
    func sessionsByAgent() -> [String: Int] {
        var counts: [String: Int] = [:]
        for session in sessions.values where !session.isTransferring {
            counts[session.agentName, default: 0] += 1
        }
        return counts
    }

    /// `hello.presence`: `user` goes online on `outbox` (a newer connection replaces an older one).
    func goOnline(_ user: UserRecord, _ presence: Presence, outbox: ParticipantOutbox, now: Date = Date()) async {
        if let previous = presenceOutboxes[user.name], previous !== outbox {
            previous.finish(.replaced)
        }
        presenceOutboxes[user.name] = outbox
        switch floor.online(user.name, presence, now: now) {
        case .cameOnline(let agent):
            await logPresence(agent, state: agent.choice, now: now)
        case .replaced(let agent, let changed):
            if changed { await logPresence(agent, state: agent.choice, now: now) }
        }
        sendPresenceStatus(user.name)
        // A reloaded console: the open offer again, on the new connection.
        if let offer = floor.openOffer(of: user.name),
            let entry = queue.entry(id: offer.queueID) ?? remoteEntries[offer.queueID]?.entry
        {
            _ = outbox.enqueue(.queueOffer(queueOffer(offer, entry: entry, now: now)))
        }
        await routeQueue(now: now)
    }

    enum PresenceSetResult: Sendable {
        case applied
        /// Applied, but not logged: the agent's presence changes for the hour are used up.
        case throttled
    }

    /// `presence.set` on `name`'s presence connection.
    func setPresence(_ name: String, _ presence: Presence, outbox: ParticipantOutbox, now: Date = Date()) async -> PresenceSetResult {
        guard presenceOutboxes[name] === outbox else { return .applied }
        var result = PresenceSetResult.applied
        switch floor.set(name, presence, now: now) {
        case .changed(let agent):
            if !(await logPresence(agent, state: agent.choice, now: now)) { result = .throttled }
            // Away now: the open offer is declined at once rather than left to time out.
            if agent.choice == .away, let offer = floor.openOffer(of: name), case .declined = floor.decline(offerID: offer.id, by: name, now: now) {
                await logRefusal(offer, reason: "declined", now: now)
            }
        case .unchanged, .notOnline:
            break
        }
        sendPresenceStatus(name)
        await routeQueue(now: now)
        return result
    }

    /// The presence connection of `name` closed: offline; its open offer goes to someone else.
    func goOffline(_ name: String, outbox: ParticipantOutbox, now: Date = Date()) async {
        guard presenceOutboxes[name] === outbox else { return }
        presenceOutboxes[name] = nil
        switch floor.offline(name) {
        case .wentOffline(let agent, let open):
            if let open { await logRefusal(open, reason: "agent-offline", now: now) }
            await logPresence(agent, state: .offline, now: now, force: true)
        case .notOnline:
            break
        }
        await routeQueue(now: now)
    }

    /// `queue.decline` on `name`'s presence connection.
    func decline(offerID: String, by name: String, outbox: ParticipantOutbox, now: Date = Date()) async -> Bool {
        guard presenceOutboxes[name] === outbox else { return false }
        switch floor.decline(offerID: offerID, by: name, now: now) {
        case .declined(let offer):
            await logRefusal(offer, reason: "declined", now: now)
            await routeQueue(now: now)
            return true
        case .unknown:
            return false
        }
    }

    /// Offers past their time move on; their agents are set away (`missed-offer`).
    func expireOffers(now: Date) async {
        let expired = floor.expire(now: now)
        guard !expired.isEmpty else { return }
        for offer in expired {
            await logRefusal(offer, reason: "timeout", now: now)
            if let agent = floor.agents[offer.agent] {
                await logPresence(agent, state: .away, reason: "missed-offer", now: now, force: true)
                presenceOutboxes[offer.agent].map { _ = $0.enqueue(.queueWithdrawn(QueueWithdrawn(offerID: offer.id, reason: .timeout))) }
                sendPresenceStatus(offer.agent, reason: "missed-offer")
            }
        }
        await routeQueue(now: now)
    }

    /// Offers every waiting entry without an offer to the least busy eligible agent (§20.2).
    func routeQueue(now: Date = Date()) async {
        guard !floor.agents.isEmpty, !isShuttingDown else { return }
        // With other brokers (§20.7): not what their agents hold a claim on, and their entries too.
        let local = queue.byPrecedence.filter { !claimedElsewhere.contains($0.id) }
        let remote = registry == nil ? [] : offerableRemoteEntries(now: now)
        guard !local.isEmpty || !remote.isEmpty else { return }
        var counts = sessionsByAgent()
        // An agent's sessions on the other brokers count against its capacity too.
        for agent in remoteAgents where floor.agents[agent.name] != nil { counts[agent.name, default: 0] += agent.sessions }
        let entries = remote.isEmpty ? local : (local + remote).sorted { $0.precedes($1) }
        let made = floor.route(entries: entries, sessions: { counts[$0] ?? 0 }, now: now)
        let remoteIDs = Set(remote.map(\.id))
        var offeredHere = false
        for new in made {
            let entry = new.entry
            let isRemote = remoteIDs.contains(entry.id)
            if isRemote {
                guard await claimRemote(new.offer, now: now) else {
                    if floor.offers[new.offer.id] != nil { floor.withdraw(offerID: new.offer.id) }
                    continue
                }
            } else {
                offeredHere = true
            }
            let waitedMs = now.epochMilliseconds - entry.enteredAt.epochMilliseconds
            let detail = [
                "queueId": entry.id, "offerId": new.offer.id, "agent": new.offer.agent, "line": entry.line, "tier": entry.tier.rawValue,
                "waitedMs": String(waitedMs),
            ]
            do {
                try await store.recordEvent(sessionID: nil, kind: .queueOffered, actor: "system", detail: detail, at: now)
            } catch {
                // Not logged, not offered: the entry stays for pulling and the next round.
                if floor.offers[new.offer.id] != nil { floor.withdraw(offerID: new.offer.id) }
                await releaseRemote(new.offer)
                logger.error("Could not record a queue offer", metadata: ["tandem.queue.id": "\(entry.id)"])
                continue
            }
            // Ended while it was being logged (taken, left, the agent went offline): its end
            // was already told and logged, so the offer itself is not sent.
            guard floor.offers[new.offer.id] != nil, isRemote || queue.entry(id: entry.id) != nil else {
                // Still open for an entry that left: withdrawn here, never shown to the agent.
                if floor.offers[new.offer.id] != nil { floor.withdraw(offerID: new.offer.id) }
                await releaseRemote(new.offer)
                continue
            }
            metrics.offerMade(latency: .milliseconds(waitedMs))
            _ = presenceOutboxes[new.offer.agent]?.enqueue(.queueOffer(queueOffer(new.offer, entry: entry, now: now)))
        }
        // Other brokers must not offer what is on offer here.
        if offeredHere, registry != nil { await publishQueueChanges() }
    }

    /// The `queue.offer` an agent gets for `offer` of `entry`.
    func queueOffer(_ offer: SupportFloor.Offer, entry: SupportQueue.Entry, now: Date) -> QueueOffer {
        let from: String? = if case .transfer(let from) = entry.kind { from } else { nil }
        return QueueOffer(
            offerID: offer.id,
            queueID: entry.id,
            kind: from == nil ? .customer : .transfer,
            ticket: entry.ticket,
            tier: entry.tier,
            line: entry.line,
            mode: entry.mode,
            skills: entry.skills,
            waitedSeconds: max(0, Int(now.timeIntervalSince(entry.enteredAt))),
            until: offer.until,
            from: from,
            note: entry.note
        )
    }

    /// The entry left the queue (`reason`): its open offer is withdrawn from the agent.
    func withdrawOffer(forEntry queueID: String, reason: QueueWithdrawn.Reason) {
        guard let offer = floor.entryGone(queueID) else { return }
        _ = presenceOutboxes[offer.agent]?.enqueue(.queueWithdrawn(QueueWithdrawn(offerID: offer.id, reason: reason)))
    }

    /// An agent's live sessions changed: it is told, and freed capacity is offered work.
    func agentSessionsChanged(_ name: String, now: Date = Date()) async {
        guard floor.agents[name] != nil else { return }
        sendPresenceStatus(name)
        await routeQueue(now: now)
    }

    func sendPresenceStatus(_ name: String, reason: String? = nil) {
        guard let outbox = presenceOutboxes[name], let agent = floor.agents[name] else { return }
        let sessions = sessionsByAgent()[name] ?? 0
        _ = outbox.enqueue(
            .presenceStatus(
                PresenceStatus(
                    name: name,
                    state: floor.state(of: name, sessions: sessions),
                    lines: agent.lines,
                    skills: agent.skills,
                    maxSessions: agent.maxSessions,
                    sessions: sessions,
                    transferReasons: configuration.routing.transferReasons,
                    reason: reason
                )
            )
        )
    }

    /// Tells every present agent its status (every 60 s, which also keeps the connections open).
    func refreshPresence() {
        for name in presenceOutboxes.keys { sendPresenceStatus(name) }
    }

    /// Logs `agent.presence` within the agent's hourly budget (`force`: going offline or set
    /// away by the broker, always logged). False when the budget was spent.
    @discardableResult
    private func logPresence(_ agent: SupportFloor.Agent, state: AgentState, reason: String? = nil, now: Date, force: Bool = false) async -> Bool {
        let hourAgo = now.addingTimeInterval(-3600)
        var times = (presenceLogTimes[agent.name] ?? []).filter { $0 > hourAgo }
        // Offline after nothing logged since the last offline says nothing new (§20.1).
        if state == .offline, lastLoggedPresence[agent.name] ?? .offline == .offline { return true }
        guard force || times.count < configuration.routing.presenceLogsPerHour else {
            presenceLogTimes[agent.name] = times
            return false
        }
        times.append(now)
        presenceLogTimes[agent.name] = times
        lastLoggedPresence[agent.name] = state
        var detail = [
            "state": state.rawValue, "lines": agent.lines.joined(separator: ","), "skills": agent.skills.joined(separator: ","),
            "maxSessions": String(agent.maxSessions),
        ]
        if let reason { detail["reason"] = reason }
        do {
            try await store.recordEvent(sessionID: nil, kind: .agentPresence, actor: agent.name, detail: detail, at: now)
        } catch {
            logger.error("Could not record an agent's presence", metadata: ["tandem.agent": "\(agent.name)"])
        }
        logger.info("Agent presence", metadata: ["tandem.agent": "\(agent.name)", "tandem.agent.state": "\(state.rawValue)"])
        return true
    }

    private func logRefusal(_ offer: SupportFloor.Offer, reason: String, now: Date) async {
        metrics.offerRefused(reason)
        await releaseRemote(offer)
        let detail = ["queueId": offer.queueID, "offerId": offer.id, "agent": offer.agent, "reason": reason]
        do {
            try await store.recordEvent(sessionID: nil, kind: .queueOfferRefused, actor: offer.agent, detail: detail, at: now)
        } catch {
            logger.error("Could not record a refused offer", metadata: ["tandem.queue.id": "\(offer.queueID)"])
        }
    }

    /// Agents by the state others see, for `GET /v1/agents` and the floor: this broker's
    /// (``localAgentList(now:)``) and, with PostgreSQL, the other brokers' (§20.7).
    func agentList(now: Date = Date()) -> [FloorState.Agent] {
        let local = localAgentList(now: now)
        let here = Set(local.map(\.name))
        return (local + remoteAgents.filter { !here.contains($0.name) }).sorted { $0.name < $1.name }
    }

    /// This broker's agents: present agents, and agents with live sessions but no presence
    /// connection (offline).
    func localAgentList(now: Date = Date()) -> [FloorState.Agent] {
        let counts = sessionsByAgent()
        var list = floor.agents.values.map { agent in
            FloorState.Agent(
                name: agent.name,
                state: floor.state(of: agent.name, sessions: counts[agent.name] ?? 0),
                sessions: counts[agent.name] ?? 0,
                maxSessions: agent.maxSessions,
                lines: agent.lines,
                skills: agent.skills,
                since: agent.since
            )
        }
        for (name, count) in counts where floor.agents[name] == nil {
            let since = sessions.values.filter { $0.agentName == name }.map(\.createdAt).min() ?? now
            list.append(FloorState.Agent(name: name, state: .offline, sessions: count, maxSessions: 0, lines: [], skills: [], since: since))
        }
        return list.sorted { $0.name < $1.name }
    }
}
