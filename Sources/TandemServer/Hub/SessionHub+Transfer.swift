import Logging
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Transfer and escalation (protocol/README.md §17): the agent hands a live session to a
/// line's queue or to a named agent; the customer stays connected; the next agent gets the
/// customer's streams and overlays. Each agent's part is on the session's timeline.
extension SessionHub {
    enum TransferResult: Sendable {
        case pending(SessionTransferred)
        /// The request names no valid line or agent (the text says why).
        case invalid(String)
        /// No customer in the session yet, no agent connected, or a transfer already pending.
        case notTransferable
        case queueFull
    }

    /// Hands `session` over as `request` asks, on behalf of `actor` (its agent or an admin).
    func transfer(_ session: LiveSession, request: TransferRequest, by actor: String) async throws -> TransferResult {
        let from = session.agentName
        switch (request.line, request.agent) {
        case (let line?, nil):
            guard SupportLine.isValid(line) else { return .invalid("line must be 1-32 characters of a-z, 0-9 and -, like line2") }
        case (nil, let agent?):
            guard agent != from else { return .invalid("the session is already \(agent)'s") }
            guard let user = try await store.user(name: agent), user.isActive, user.role.canStartSessions else {
                return .invalid("no active agent is called \(agent)")
            }
        default:
            return .invalid("name exactly one of line and agent")
        }
        if let note = request.note, note.count > TransferRequest.maxNoteLength {
            return .invalid("note is limited to \(TransferRequest.maxNoteLength) characters")
        }
        let reasons = configuration.routing.transferReasons
        if let reason = request.reason, !reasons.isEmpty ? !reasons.contains(reason) : !SupportLine.isValid(reason) {
            return .invalid(
                reasons.isEmpty ? "reason must be 1-32 characters of a-z, 0-9 and -" : "reason must be one of \(reasons.joined(separator: ", "))"
            )
        }
        guard session.canTransfer else { return .notTransferable }
        let now = Date()
        let until = now.addingTimeInterval(configuration.transferWait.seconds)
        let entry = SupportQueue.Entry(
            id: session.id,
            kind: .transfer(from: from),
            ticket: session.ticket,
            tier: session.tier,
            mode: session.mode,
            line: request.line ?? SupportLine.first,
            forAgent: request.agent,
            enteredAt: now,
            note: request.note
        )
        guard queue.add(entry) else { return .queueFull }
        var detail = ["from": from, "waitSeconds": String(Int(configuration.transferWait.seconds))]
        if let line = request.line { detail["line"] = line }
        if let agent = request.agent { detail["toAgent"] = agent }
        if let note = request.note { detail["note"] = note }
        if let reason = request.reason { detail["reason"] = reason }
        do {
            // Logged before anyone is told.
            try await store.recordEvent(sessionID: session.id, kind: .sessionTransferred, actor: actor, detail: detail, at: now)
        } catch {
            queue.remove(id: session.id)
            withdrawOffer(forEntry: session.id, reason: .customerLeft)
            throw error
        }
        traces.record(.transferred, sessionID: session.id)
        let notice = SessionTransferred(sessionID: session.id, state: .pending, from: from, line: request.line, toAgent: request.agent, until: until)
        guard let previous = session.beginTransfer(at: now, until: until, notice: notice) else {
            queue.remove(id: session.id)
            withdrawOffer(forEntry: session.id, reason: .customerLeft)
            return .notTransferable
        }
        // The agent who handed over cannot come back with its resume token.
        if let hash = resumeTokenOf[session.id]?.removeValue(forKey: .agent) { resumeTokens[hash] = nil }
        _ = previous.enqueue(.sessionTransferred(notice))
        previous.finish(.handedOver)
        session.tellWatchers(.sessionTransferred(notice))
        session.announcePresence()
        logger.info(
            "Session transferred",
            metadata: [
                "tandem.session.id": "\(session.id)", "tandem.ticket": "\(session.ticket)", "tandem.transfer.to": "\(request.line ?? "agent")",
            ]
        )
        publishQueueStatus()
        await agentSessionsChanged(from, now: now)
        return .pending(notice)
    }

    /// `agent` takes the session transferred by `from`. Nil when it can no longer be taken.
    func takeOver(
        _ session: LiveSession,
        entry: SupportQueue.Entry,
        from: String,
        agent: UserRecord,
        outbox: ParticipantOutbox,
        offerID: String? = nil
    ) async throws -> LiveSession? {
        guard session.isTransferring else { return nil }
        let now = Date()
        let waitedMs = now.epochMilliseconds - entry.enteredAt.epochMilliseconds
        var detail = ["from": from, "agent": agent.name, "waitedMs": String(waitedMs)]
        if let forAgent = entry.forAgent { detail["toAgent"] = forAgent } else { detail["line"] = entry.line }
        if let offerID { detail["offerId"] = offerID }
        try await store.recordTakeover(sessionID: session.id, agent: agent.name, detail: detail, at: now)
        traces.record(.transferAnswered, sessionID: session.id, agent: agent.name)
        let token = ResumeToken.generate()
        let notice = SessionTransferred(
            sessionID: session.id,
            state: .completed,
            from: from,
            line: entry.forAgent == nil ? entry.line : nil,
            toAgent: entry.forAgent,
            agent: agent.name
        )
        let since = session.assignAgent(
            agent.name,
            outbox: outbox,
            at: now,
            welcome: { customerPresent in
                SessionAssigned(
                    sessionID: session.id,
                    ticket: session.ticket,
                    mode: session.mode,
                    line: entry.line,
                    tier: session.tier,
                    waitedSeconds: Int(waitedMs / 1000),
                    customerPresent: customerPresent,
                    transferredFrom: from,
                    note: entry.note,
                    resumeToken: token
                )
            },
            notice: notice
        )
        guard since != nil else { return nil }
        metrics.queueAnswered(entry.kind, waited: .milliseconds(waitedMs))
        // The previous taker's part ends here; a transfer to a line starts the new taker's part
        // of that line (one to a named agent is no line's work, §16).
        if let previous = takenFromLine.removeValue(forKey: session.id) {
            waitEstimator.ended(line: previous.line, handleSeconds: now.timeIntervalSince(previous.since), at: now)
        }
        if entry.forAgent == nil {
            waitEstimator.answered(line: entry.line, agent: agent.name, at: now)
            takenFromLine[session.id] = (entry.line, now)
        }
        _ = registerResumeToken(token, sessionID: session.id, role: .agent)
        session.tellWatchers(.sessionTransferred(notice))
        session.announcePresence()
        logger.info(
            "Transferred session taken",
            metadata: ["tandem.session.id": "\(session.id)", "tandem.agent": "\(agent.name)", "tandem.queue.waited.ms": "\(waitedMs)"]
        )
        return session
    }
}
