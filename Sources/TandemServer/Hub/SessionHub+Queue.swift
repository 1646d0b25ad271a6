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
            let link = HelpLink(ticket: request.ticket, tier: request.tier, line: request.line ?? SupportLine.first, expires: request.expires ?? 0)
            let verdict = helpLinks.verify(link, signature: request.signature ?? "", now: now)
            guard verdict == .valid else {
                metrics.queueRefused("help-link")
                return .badLink(verdict)
            }
        } else {
            request.tier = .basic
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
            enteredAt: now
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
        return .entered(waiter)
    }

    /// The customer's connection closed before an agent took it (`reason`: `customer-left`,
    /// `broker-shutdown`…). Does nothing when an agent took it meanwhile.
    func leaveQueue(_ waiter: QueueWaiter, reason: String) async {
        guard queue.remove(id: waiter.id) != nil else { return }
        waiters[waiter.id] = nil
        toldPositions[waiter.id] = nil
        let now = Date()
        let detail = [
            "queueId": waiter.id, "ticket": waiter.request.ticket, "tier": waiter.request.tier.rawValue, "line": waiter.line,
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
    }

    /// `agent` takes the next customer or transferred session of `line` (sessions transferred
    /// to it by name first) on `outbox`, which gets `session.assigned` and the catch-up.
    func take(agent: UserRecord, _ take: Hello.Take, outbox: ParticipantOutbox) async throws -> TakeResult {
        let line = take.line ?? SupportLine.first
        while let entry = queue.take(forAgent: agent.name, line: line) {
            toldPositions[entry.id] = nil
            switch entry.kind {
            case .customer:
                guard let waiter = waiters.removeValue(forKey: entry.id) else { continue }
                return .assigned(try await answer(waiter, entry: entry, agent: agent, take: take, outbox: outbox))
            case .transfer(let from):
                guard let session = sessions[entry.id],
                    let taken = try await takeOver(session, entry: entry, from: from, agent: agent, outbox: outbox)
                else { continue }
                publishQueueStatus()
                return .assigned(taken)
            }
        }
        return .empty
    }

    /// Opens the session of a queued customer with `agent` and puts both in it. No join code
    /// is issued (`expiresAt` = `createdAt`); the time in the queue is in `queue.answered`.
    private func answer(
        _ waiter: QueueWaiter,
        entry: SupportQueue.Entry,
        agent: UserRecord,
        take: Hello.Take,
        outbox: ParticipantOutbox
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
                detail: ["queueId": waiter.id, "tier": entry.tier.rawValue, "line": entry.line, "waitedMs": String(waitedMs)],
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
        for waiter in waiters.values {
            guard let position = queue.position(of: waiter.id) else { continue }
            guard everyone || toldPositions[waiter.id] != position else { continue }
            toldPositions[waiter.id] = position
            let waited = Int(now.timeIntervalSince(waiter.enteredAt))
            _ = waiter.outbox.enqueue(
                .queueStatus(
                    QueueStatus(
                        position: position,
                        line: waiter.line,
                        tier: waiter.request.tier,
                        waitedSeconds: max(0, waited),
                        estimatedWaitSeconds: waitEstimator.estimate(line: waiter.line, position: position, now: now)
                    )
                )
            )
        }
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
