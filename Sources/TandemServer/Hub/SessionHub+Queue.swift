import Logging
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The queue (protocol/README.md §16): customers ask for help without a code and wait;
/// agents take the next by tier, then waiting time. Entering, leaving and being answered are
/// logged with the wait, so `tandem audit stats` can report how fast the queue was answered.
extension SessionHub {
    enum QueueEntryResult: Sendable {
        case entered(QueueWaiter)
        /// The queue holds its most entries.
        case full
        /// The customer's network already holds this many entries (§16).
        case networkLimit(Int)
        /// The help link's signature is invalid, or it expired (§16.1).
        case badLink(HelpLinkSigner.Verdict)
        /// Too many queue entries from this network, or on the broker, lately (§13.1).
        case throttled(retryAfter: Int, scope: AnonymousWriteLimiter.Scope)
    }

    /// Puts a customer without a code in the queue. With a help link (`expires` and
    /// `signature`) the signed ticket, tier and line are used once the signature checks out;
    /// without one the customer waits as `basic`, whatever tier it asked for.
    func enterQueue(
        _ request: Hello.QueueRequest,
        client: String?,
        address: ClientAddress,
        outbox: ParticipantOutbox
    ) async throws -> QueueEntryResult {
        let now = Date()
        var request = request
        let signed = request.signature != nil || request.expires != nil
        if signed {
            let link = HelpLink(
                ticket: request.ticket,
                tier: request.tier,
                line: request.line ?? SupportLine.first,
                expires: request.expires ?? 0,
                skills: request.skills ?? []
            )
            let verdict = helpLinks.verify(link, signature: request.signature ?? "", now: now)
            guard verdict == .valid else {
                metrics.queueRefused("help-link")
                return .badLink(verdict)
            }
        } else {
            request.tier = .basic
            // Skills come with a signed link only (§20.2).
            request.skills = nil
        }
        let cap = configuration.maxQueueEntriesPerNetwork
        if let network = address.network, waiters.values.lazy.filter({ $0.network == network }).count >= cap {
            metrics.queueRefused("queue-limit")
            return .networkLimit(cap)
        }
        guard queue.count < queue.capacity else {
            metrics.queueRefused("queue-full")
            return .full
        }
        // Only a refusal suspends here, so nothing else enters between the checks above and
        // the entry below.
        if let throttled = try await spendAnonymousWrite(
            .queue,
            kind: .queueThrottled,
            address: address,
            pool: signed ? .signedLinks : .anonymous,
            at: now
        ) {
            metrics.queueRefused("throttled")
            return .throttled(retryAfter: throttled.retryAfter, scope: throttled.scope)
        }
        let waiter = QueueWaiter(
            id: "q_" + SessionID.generate().dropFirst(2),
            request: request,
            client: client,
            address: address.ip,
            network: address.network,
            enteredAt: now,
            outbox: outbox
        )
        let entry = SupportQueue.Entry(
            id: waiter.id,
            kind: .customer,
            ticket: request.ticket,
            tier: request.tier,
            mode: request.mode,
            line: waiter.line,
            enteredAt: now,
            skills: request.skills ?? []
        )
        guard queue.add(entry) else {
            metrics.queueRefused("queue-full")
            return .full
        }
        // Counted against its network from now on, also while the entry is being logged.
        waiters[waiter.id] = waiter
        var detail = [
            "queueId": waiter.id, "ticket": request.ticket, "tier": request.tier.rawValue, "line": waiter.line, "mode": request.mode.rawValue,
            "signed": signed ? "true" : "false",
        ]
        if let ip = address.ip { detail["address"] = ip }
        if let skills = request.skills, !skills.isEmpty { detail["skills"] = skills.joined(separator: ",") }
        do {
            try await store.recordEvent(sessionID: nil, kind: .queueEntered, actor: "customer", detail: detail, at: now)
        } catch {
            queue.remove(id: waiter.id)
            waiters[waiter.id] = nil
            throw error
        }
        logger.info(
            "Customer queued",
            metadata: [
                "tandem.queue.id": "\(waiter.id)", "tandem.ticket": "\(request.ticket)", "tandem.queue.line": "\(waiter.line)",
                "tandem.queue.tier": "\(request.tier.rawValue)", "tandem.queue.signed": "\(signed)",
            ]
        )
        publishQueueStatus()
        await routeQueue(now: now)
        return .entered(waiter)
    }

    /// The customer's connection closed before an agent took it (`reason`: `customer-left`,
    /// `broker-shutdown`…). Does nothing when an agent took it meanwhile.
    func leaveQueue(_ waiter: QueueWaiter, reason: String) async {
        // Never counted against its network again, whatever became of the entry.
        defer { if waiters[waiter.id] === waiter, waiter.session == nil { waiters[waiter.id] = nil } }
        guard let entry = queue.remove(id: waiter.id) else { return }
        waiters[waiter.id] = nil
        withdrawOffer(forEntry: waiter.id, reason: .customerLeft)
        toldPositions[waiter.id] = nil
        metrics.customerDecided(waited: nil, target: configuration.routing.queueTarget)
        let now = Date()
        let detail = [
            "queueId": waiter.id, "ticket": waiter.request.ticket, "tier": waiter.request.tier.rawValue, "line": entry.line,
            "waitedMs": String(now.epochMilliseconds - waiter.enteredAt.epochMilliseconds), "reason": reason,
        ]
        do {
            try await store.recordEvent(sessionID: nil, kind: .queueLeft, actor: "customer", detail: detail, at: now)
        } catch {
            logger.error("Could not record a customer leaving the queue", metadata: ["tandem.queue.id": "\(waiter.id)"])
        }
        publishQueueStatus()
    }

    enum TakeResult: Sendable {
        case assigned(LiveSession)
        /// Nothing waits for this agent in that line.
        case empty
        /// `take.offer` is not this agent's open offer (§20.2).
        case offerGone
        /// The agent's next entry waits on the broker at this URL (§20.7), claimed for it there.
        case elsewhere(String)
    }

    /// `agent` takes the next customer or transferred session of `line` (sessions transferred
    /// to it by name first) on `outbox`, which gets `session.assigned` and the catch-up; with
    /// `take.offer`, exactly the entry offered to it (§20.2).
    func take(agent: UserRecord, _ take: Hello.Take, outbox: ParticipantOutbox) async throws -> TakeResult {
        let line = take.line ?? SupportLine.first
        if let offerID = take.offer {
            let entry: SupportQueue.Entry
            switch floor.accept(offerID: offerID, by: agent.name, now: Date()) {
            case .take(let offer):
                // An offer of another broker's entry (§20.7): taken there, where it is claimed for the agent.
                if let url = remoteOfferURLs.removeValue(forKey: offerID) {
                    // Held for the agent while it connects there.
                    let until = Date().addingTimeInterval(configuration.routing.offerTimeout.seconds)
                    try? await registry?.extendClaim(queueID: offer.queueID, agent: agent.name, until: until)
                    return .elsewhere(url)
                }
                guard let found = queue.remove(id: offer.queueID) else { return .offerGone }
                entry = found
            case .gone:
                // An offer another broker made of an entry here: the agent holds a claim on it.
                guard let claimed = await entryClaimed(by: agent.name) else { return .offerGone }
                entry = claimed
                withdrawOffer(forEntry: entry.id, reason: .taken)
            }
            toldPositions[entry.id] = nil
            if let taken = try await assign(entry, agent: agent, take: take, outbox: outbox, offerID: offerID) { return .assigned(taken) }
            return .offerGone
        }
        switch await sharedTake(agent: agent.name, line: line) {
        case .local(let entry):
            withdrawOffer(forEntry: entry.id, reason: .taken)
            toldPositions[entry.id] = nil
            if let taken = try await assign(entry, agent: agent, take: take, outbox: outbox, offerID: nil) { return .assigned(taken) }
        case .elsewhere(let url):
            return .elsewhere(url)
        case .none:
            break
        }
        // Entries an agent of another broker holds a claim on wait for it (§20.7).
        while let entry = queue.take(forAgent: agent.name, line: line, excluding: claimedElsewhere) {
            withdrawOffer(forEntry: entry.id, reason: .taken)
            toldPositions[entry.id] = nil
            if let taken = try await assign(entry, agent: agent, take: take, outbox: outbox, offerID: nil) { return .assigned(taken) }
        }
        return .empty
    }

    /// Puts `agent` in the session of `entry`, just taken off the queue; nil when it went away meanwhile.
    private func assign(
        _ entry: SupportQueue.Entry,
        agent: UserRecord,
        take: Hello.Take,
        outbox: ParticipantOutbox,
        offerID: String?
    ) async throws -> LiveSession? {
        floor.assigned(agent.name, now: Date())
        let taken: LiveSession?
        switch entry.kind {
        case .customer:
            guard let waiter = waiters.removeValue(forKey: entry.id) else { return nil }
            taken = try await answer(waiter, entry: entry, agent: agent, take: take, outbox: outbox, offerID: offerID)
        case .transfer(let from):
            guard let session = sessions[entry.id] else { return nil }
            taken = try await takeOver(session, entry: entry, from: from, agent: agent, outbox: outbox, offerID: offerID)
            publishQueueStatus()
        }
        if taken != nil { await agentSessionsChanged(agent.name) }
        return taken
    }

    /// Opens the session of a queued customer with `agent` and puts both in it. No join code
    /// is issued (`expiresAt` = `createdAt`); the time in the queue is in `queue.answered`.
    private func answer(
        _ waiter: QueueWaiter,
        entry: SupportQueue.Entry,
        agent: UserRecord,
        take: Hello.Take,
        outbox: ParticipantOutbox,
        offerID: String?
    ) async throws -> LiveSession {
        let now = Date()
        let record = SessionRecord(
            id: SessionID.generate(),
            ticket: entry.ticket,
            agent: agent.name,
            mode: entry.mode,
            createdAt: now,
            expiresAt: now
        )
        let waitedMs = now.epochMilliseconds - waiter.enteredAt.epochMilliseconds
        do {
            try await store.insertSession(record)
            try await store.recordEvent(
                sessionID: record.id,
                kind: .queueAnswered,
                actor: agent.name,
                detail: ["queueId": waiter.id, "tier": entry.tier.rawValue, "line": entry.line, "waitedMs": String(waitedMs)]
                    .merging(offerID.map { ["offerId": $0] } ?? [:]) { a, _ in a },
                at: now
            )
            try await store.recordCustomerJoined(sessionID: record.id, at: now, client: waiter.client, address: waiter.address)
        } catch {
            // The customer stays connected but cannot be served: close it like any broker failure.
            waiter.outbox.finish(.internalError)
            throw error
        }
        metrics.sessionsStarted.increment()
        metrics.queueAnswered(entry.kind, waited: .milliseconds(waitedMs))
        metrics.customerDecided(waited: .milliseconds(waitedMs), target: configuration.routing.queueTarget)
        // Live from the start: the customer is in, no code to redeem.
        let session = LiveSession(
            record: record,
            tier: entry.tier,
            recording: recording(for: record.id, requested: take.record),
            overlayLimits: configuration.overlayLimits,
            customerJoinedAt: now,
            agentOutbox: outbox
        )
        sessions[record.id] = session
        waitEstimator.answered(line: entry.line, agent: agent.name, at: now)
        takenFromLine[record.id] = (entry.line, now)
        traces.started(record, via: "queue")
        traces.record(.customerJoined, sessionID: record.id)
        let assigned = SessionAssigned(
            sessionID: record.id,
            ticket: record.ticket,
            mode: record.mode,
            line: entry.line,
            tier: entry.tier,
            waitedSeconds: Int(waitedMs / 1000),
            customerPresent: true,
            resumeToken: registerResumeToken(ResumeToken.generate(), sessionID: record.id, role: .agent),
            codecs: waiter.outbox.codecs
        )
        _ = outbox.enqueue(.sessionAssigned(assigned))
        welcomeCustomer(session, outbox: waiter.outbox, client: waiter.client, now: now)
        waiter.assign(session)
        logger.info(
            "Queued customer answered",
            metadata: [
                "tandem.session.id": "\(record.id)", "tandem.ticket": "\(record.ticket)", "tandem.agent": "\(agent.name)",
                "tandem.queue.waited.ms": "\(waitedMs)",
            ]
        )
        publishQueueStatus()
        return session
    }

    /// Sends `queue.status` to every waiting customer whose position changed, or to all of
    /// them with `everyone` (the periodic status that also keeps idle connections open).
    func publishQueueStatus(everyone: Bool = false, now: Date = Date()) {
        if everyone { lastQueueStatus = now }
        let callbackAfter = configuration.routing.callbackAfter.seconds
        var agentsOnLine: [String: Int?] = [:]
        for waiter in waiters.values {
            guard let entry = queue.entry(id: waiter.id), let position = queue.position(of: waiter.id) else { continue }
            let waited = max(0, Int(now.timeIntervalSince(waiter.enteredAt)))
            let callbackOffered = callbackAfter > 0 && Double(waited) >= callbackAfter
            // A change of line (overflow) or of the callback offer is news too.
            let told = toldPositions[waiter.id]
            guard everyone || told != position || callbackOffered != waiter.callbackOffered else { continue }
            toldPositions[waiter.id] = position
            waiter.callbackOffered = callbackOffered
            if agentsOnLine[entry.line] == nil { agentsOnLine[entry.line] = presentAgents(line: entry.line) }
            _ = waiter.outbox.enqueue(
                .queueStatus(
                    QueueStatus(
                        position: position,
                        line: entry.line,
                        tier: waiter.request.tier,
                        waitedSeconds: waited,
                        estimatedWaitSeconds: waitEstimator.estimate(
                            line: entry.line,
                            position: position,
                            now: now,
                            agentsPresent: agentsOnLine[entry.line] ?? nil
                        ),
                        callbackOffered: callbackOffered ? true : nil
                    )
                )
            )
        }
    }

    /// Agents present for `line` and not away (at least 1), or nil when nobody present answers
    /// it: the `A` of the estimate (§20.4).
    func presentAgents(line: String) -> Int? {
        let serving = floor.agents.values.filter { $0.lines.contains(line) }
        guard !serving.isEmpty else { return nil }
        return max(1, serving.filter { $0.choice != .away }.count)
    }

    /// What `GET /v1/queue` lists.
    func queueListing(now: Date = Date()) -> QueueListing {
        QueueListing(
            entries: queue.ordered.map { entry in
                let from: String? = if case .transfer(let from) = entry.kind { from } else { nil }
                return QueueListing.Entry(
                    id: entry.id,
                    kind: from == nil ? .customer : .transfer,
                    ticket: entry.ticket,
                    tier: entry.tier,
                    line: entry.line,
                    toAgent: entry.forAgent,
                    from: from,
                    position: queue.position(of: entry.id) ?? 0,
                    waitedSeconds: max(0, Int(now.timeIntervalSince(entry.enteredAt))),
                    note: entry.note
                )
            }
        )
    }
}
