import Logging
import NIOCore
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The floor (protocol/README.md §20.5, §20.6): admins watching queues, agents and live
/// sessions, and agents asking for a supervisor.
extension SessionHub {
    /// An admin's floor connection opens; false when the broker already has its most.
    func floorOpened(_ outbox: ParticipantOutbox, user: String, now: Date = Date()) async -> Bool {
        guard floorOutboxes.count < configuration.routing.maxFloorConnections else { return false }
        floorOutboxes[ObjectIdentifier(outbox)] = (user, outbox)
        await refreshToday(now: now, force: floorToday == nil)
        let state = floorState(now: now)
        _ = outbox.enqueue(.floorState(state))
        return true
    }

    func floorClosed(_ outbox: ParticipantOutbox) {
        floorOutboxes[ObjectIdentifier(outbox)] = nil
        if floorOutboxes.isEmpty { floorSent = nil }
    }

    /// Sends `floor.state` to every floor connection when something changed since the last
    /// one (waits that merely grew do not count), and at least every 5 s. Called every second.
    func publishFloor(now: Date) async {
        guard !floorOutboxes.isEmpty else { return }
        await refreshToday(now: now)
        let state = floorState(now: now)
        if let sent = floorSent, Self.sameFloor(sent.state, state), now.timeIntervalSince(sent.at) < 5 { return }
        floorSent = (state, now)
        // Encoded once; the same bytes go to every admin.
        let message = ControlMessage.floorState(state)
        for viewer in floorOutboxes.values { _ = viewer.outbox.enqueue(message) }
    }

    /// The event kinds today's figures come from.
    static let floorDayKinds: Set<AuditEventKind> = [.queueAnswered, .queueLeft, .queueCallback, .sessionEnded, .surveyAnswered]

    /// Brings today's figures up to date when they are over 10 s old (or `force`): the day's
    /// events once, then only the events added since (the log is read from the last seq).
    private func refreshToday(now: Date, force: Bool = false) async {
        if !force, let today = floorToday, now.timeIntervalSince(today.computedAt) < 10 { return }
        let midnight = FloorDay.calendar.startOfDay(for: now)
        do {
            var day = floorDayEvents?.day == midnight ? floorDayEvents : nil
            if day == nil {
                let events = try await store.auditEvents(since: midnight, until: nil, limit: Int.max)
                day = (midnight, events.map(\.seq).max() ?? 0, events.filter { Self.floorDayKinds.contains($0.kind) })
            }
            guard var current = day else { return }
            while true {
                let batch = try await store.auditEvents(afterSeq: current.lastSeq, limit: 5000)
                guard let last = batch.last else { break }
                current.lastSeq = last.seq
                current.events += batch.filter { $0.at >= midnight && Self.floorDayKinds.contains($0.kind) }
            }
            floorDayEvents = current
            floorToday = (FloorDay(events: current.events, targetSeconds: Int(configuration.routing.queueTarget.seconds)), now)
        } catch {
            logger.error("Could not read today's events for the floor", metadata: ["error": "\(String(reflecting: type(of: error)))"])
        }
    }

    /// The floor as it is now.
    func floorState(now: Date = Date()) -> FloorState {
        var queues: [String: FloorState.LineQueue] = [:]
        var waiting: [FloorState.Waiting] = []
        for entry in queue.byPrecedence {
            let waited = max(0, Int(now.timeIntervalSince(entry.enteredAt)))
            let line = entry.forAgent.map { "@" + $0 } ?? entry.line
            let key = line + "/" + entry.tier.rawValue
            var row = queues[key] ?? FloorState.LineQueue(line: entry.line, tier: entry.tier, waiting: 0, oldestWaitSeconds: 0)
            row.waiting += 1
            row.oldestWaitSeconds = max(row.oldestWaitSeconds, waited)
            queues[key] = row
            let isCustomer: Bool = if case .customer = entry.kind { true } else { false }
            waiting.append(
                FloorState.Waiting(
                    queueID: entry.id,
                    kind: isCustomer ? .customer : .transfer,
                    ticket: entry.ticket,
                    tier: entry.tier,
                    line: entry.line,
                    skills: entry.skills,
                    waitedSeconds: waited,
                    offeredTo: floor.offer(forEntry: entry.id)?.agent
                )
            )
        }
        let live = sessions.values.sorted { $0.createdAt < $1.createdAt }.map { session in
            FloorState.Session(
                sessionID: session.id,
                ticket: session.ticket,
                agent: session.agentName,
                tier: session.tier,
                line: takenFromLine[session.id]?.line,
                startedAt: session.createdAt,
                customerPresent: session.outbox(for: .customer) != nil,
                supervisors: session.watchers.map(\.name),
                helpRequested: helpRequests[session.id]
            )
        }
        return FloorState(
            at: now,
            targetSeconds: Int(configuration.routing.queueTarget.seconds),
            serviceLevelTarget: 0.8,
            queues: queues.values.sorted { $0.line != $1.line ? $0.line < $1.line : $0.tier > $1.tier },
            waiting: waiting,
            agents: agentList(now: now),
            sessions: live,
            today: floorToday?.day
        )
    }

    /// Equal but for the clock: the time, and waits that grew.
    private static func sameFloor(_ a: FloorState, _ b: FloorState) -> Bool {
        func still(_ state: FloorState) -> FloorState {
            var state = state
            state.at = .distantPast
            for index in state.queues.indices { state.queues[index].oldestWaitSeconds = 0 }
            for index in state.waiting.indices { state.waiting[index].waitedSeconds = 0 }
            return state
        }
        return still(a) == still(b)
    }

    enum HelpRequestResult: Sendable {
        case requested
        case tooMany
    }

    /// `supervisor.request` from the session's agent: logged, and listed on the floor until
    /// a supervisor joins or the session ends.
    func requestSupervisor(_ session: LiveSession, note: String?, now: Date = Date()) async throws -> HelpRequestResult {
        let count = helpRequestCounts[session.id, default: 0]
        guard count < 10 else { return .tooMany }
        helpRequestCounts[session.id] = count + 1
        try await store.recordEvent(
            sessionID: session.id,
            kind: .supervisorRequested,
            actor: session.agentName,
            detail: note.map { ["note": $0] } ?? [:],
            at: now
        )
        guard sessions[session.id] != nil else { return .requested }
        helpRequests[session.id] = FloorState.HelpRequest(note: note, at: now)
        logger.info("Supervisor requested", metadata: ["tandem.session.id": "\(session.id)", "tandem.agent": "\(session.agentName)"])
        return .requested
    }

    /// The lines the metrics name (§20, bounded by the agents): `line1`, the lines present
    /// agents answer, and the overflow lines.
    func knownLines() -> Set<String> {
        var lines: Set<String> = [SupportLine.first]
        for agent in floor.agents.values { lines.formUnion(agent.lines) }
        for (from, to) in configuration.routing.overflow { lines.formUnion([from, to]) }
        return lines
    }

    /// A supervisor joined: the request is answered.
    func helpArrived(sessionID: String) {
        helpRequests[sessionID] = nil
    }
}
