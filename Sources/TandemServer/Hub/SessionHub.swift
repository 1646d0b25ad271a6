import Atomics
import Logging
import NIOConcurrencyHelpers
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The broker's registry of live sessions and their join codes.
///
/// Opening, joining and ending go through this actor; relaying does not (see ``LiveSession``).
/// Every change is written to the store before anyone is told about it.
actor SessionHub {
    let store: any TandemStore
    let configuration: BrokerConfiguration
    let logger: Logger
    let metrics: BrokerMetrics
    var sessions: [String: LiveSession] = [:]
    var codes = JoinCodeRegistry()
    /// Set when several brokers share the database (§14).
    let registry: (any BrokerRegistry)?
    /// Writes recordings of sessions whose agent asked for one (§19).
    let recorder: RecordingWriter?
    var guesses: JoinAttemptLimiter
    private let clockStart = ContinuousClock.now
    /// The limiters' clock (guessing, anonymous writes): seconds since the hub started (never goes back).
    var limiterNow: Double { (ContinuousClock.now - clockStart).seconds }
    private(set) var joinBaseURL: String = ""
    private var consoleTokens = ConsoleTokens()
    /// Resume tokens (hashed) → their session and participant; one live token per participant.
    var resumeTokens: [String: (sessionID: String, role: ParticipantRole)] = [:]
    var resumeTokenOf: [String: [ParticipantRole: String]] = [:]
    /// Customers waiting without a code and transferred sessions (§16, §17).
    var queue: SupportQueue
    var waiters: [String: QueueWaiter] = [:]
    /// The position each waiting customer was last told, and when the last periodic status went out.
    var toldPositions: [String: Int] = [:]
    var lastQueueStatus = Date.distantPast
    /// Budgets for what anonymous clients write to the log: failed resumes, queue entries (§13.1).
    var anonymousWrites: AnonymousWriteLimiter
    /// Signs and checks help links (§16.1).
    let helpLinks: HelpLinkSigner
    /// Signs and checks post-session survey tokens (§5.16).
    let surveys: SurveyTokenSigner
    /// Sessions whose survey answer is being checked and logged right now (at most one each).
    var surveysInFlight = Set<String>()
    let shuttingDown = NIOLockedValueBox(false)
    /// Every open participant connection, hello or not, so shutdown can close them all.
    let connections = NIOLockedValueBox([ObjectIdentifier: ParticipantOutbox]())
    /// Graceful shutdown waiting for the last connection to close (``connectionsDrained()``).
    let drainWaiters = NIOLockedValueBox([UUID: CheckedContinuation<Void, Never>]())
    /// Connections closed since the broker started (for ``MemoryReclaimer``).
    let connectionsClosed = ManagedAtomic<Int>(0)
    /// A span per live session for the process's tracer (`tandem serve --otel-endpoint`).
    var traces = SessionTraces()
    /// What waiting customers are told to expect (§16), from the lines' recent sessions.
    var waitEstimator = QueueWaitEstimator()
    /// Live sessions taken from a line: the line, and since when the taker handles it.
    var takenFromLine: [String: (line: String, since: Date)] = [:]
    /// Agents present and the offers out to them (§20.1, §20.2).
    var floor: SupportFloor
    /// Each present agent's presence connection.
    var presenceOutboxes: [String: ParticipantOutbox] = [:]
    /// When each agent's presence changes were logged in the last hour (§20.1's budget).
    var presenceLogTimes: [String: [Date]] = [:]
    var lastLoggedPresence: [String: AgentState] = [:]
    var lastPresenceRefresh = Date.distantPast
    /// Admins watching the floor (§20.6) and what they were sent last.
    var floorOutboxes: [ObjectIdentifier: (user: String, outbox: ParticipantOutbox)] = [:]
    var floorSent: (state: FloorState, at: Date)?
    /// Today's figures for the floor, read from the log at most every 10 s.
    var floorToday: (day: FloorDay, computedAt: Date)?
    /// The day's events the figures come from, and the last seq read.
    var floorDayEvents: (day: Date, lastSeq: Int64, events: [AuditEvent])?
    /// Open requests for a supervisor (§20.5), per live session.
    var helpRequests: [String: FloorState.HelpRequest] = [:]
    var helpRequestCounts: [String: Int] = [:]
    /// With PostgreSQL (§20.7): what this broker last published, and the other brokers' agents.
    var publishedAgents: [FloorState.Agent]?
    var publishedQueue: [String: String] = [:]
    var publishingQueue = false
    var queueChangedWhilePublishing = false
    var lastFullQueuePublish = Date.distantPast
    var lastFullAgentsPublish = Date.distantPast
    var remoteAgents: [FloorState.Agent] = []
    /// Other brokers' waiting entries, this broker's entries claimed by their agents, and
    /// the offers made here of their entries (offer id → the entry's broker).
    var remoteEntries: [String: SharedQueueEntry] = [:]
    var claimedElsewhere = Set<String>()
    var remoteOfferURLs: [String: String] = [:]

    init(
        store: any TandemStore,
        configuration: BrokerConfiguration,
        logger: Logger,
        metrics: BrokerMetrics,
        recorder: RecordingWriter? = nil,
        helpLinks: HelpLinkSigner = HelpLinkSigner(deriving: AuditSigner()),
        surveys: SurveyTokenSigner? = nil
    ) {
        self.surveys = surveys ?? SurveyTokenSigner(deriving: AuditSigner())
        self.recorder = recorder
        self.helpLinks = helpLinks
        self.anonymousWrites = AnonymousWriteLimiter(limits: configuration.anonymousWriteLimits)
        self.metrics = metrics
        self.store = store
        self.configuration = configuration
        self.logger = logger
        self.guesses = JoinAttemptLimiter(limits: configuration.joinLimits)
        self.queue = SupportQueue(capacity: configuration.maxQueueLength)
        self.floor = SupportFloor(offerTimeout: configuration.routing.offerTimeout.seconds)
        self.registry = store as? any BrokerRegistry
    }

    func setJoinBaseURL(_ url: String) {
        joinBaseURL = url
    }

    /// Set as soon as graceful shutdown starts; read without waiting on the actor.
    nonisolated var isShuttingDown: Bool { shuttingDown.withLockedValue { $0 } }

    var liveCount: Int { sessions.count }

    func session(id: String) -> LiveSession? { sessions[id] }

    /// Opens a session for `agent` and issues its join code.
    func open(agent: UserRecord, start: Hello.Start, agentOutbox: ParticipantOutbox) async throws -> (LiveSession, SessionCreated)? {
        // The guessing bound of §3.1 assumes at most this many unused codes.
        guard codes.activeCount < configuration.maxPendingJoinCodes else { return nil }
        let now = Date()
        let ttl = min(max(start.ttlSeconds ?? configuration.defaultCodeTTLSeconds, 1), configuration.maxCodeTTLSeconds)
        let record = SessionRecord(
            id: SessionID.generate(),
            ticket: start.ticket,
            agent: agent.name,
            mode: start.mode,
            createdAt: now,
            expiresAt: now.addingTimeInterval(TimeInterval(ttl))
        )
        // Issued before the write so that concurrent starts cannot pass the cap.
        let issued = codes.issue(sessionID: record.id, expiresAt: record.expiresAt)
        let code = issued.code
        do {
            try await store.insertSession(record)
        } catch {
            codes.retire(sessionID: record.id, now: now)
            throw error
        }
        if let registry {
            // Other brokers send customers with this code here (§14), and holders of the link
            // (the code with its key) without spending their guessing budget. Without it the
            // code still works on this broker, so a failure is logged, not fatal.
            do {
                try await registry.publishCode(hash: JoinCodeRegistry.hash(code), sessionID: record.id, expiresAt: record.expiresAt)
                try await registry.publishCode(hash: JoinCodeRegistry.hash(code, key: issued.key), sessionID: record.id, expiresAt: record.expiresAt)
            } catch {
                logger.warning("Could not publish a join code to the other brokers", metadata: ["tandem.session.id": "\(record.id)"])
            }
        }
        metrics.sessionsStarted.increment()
        let session = LiveSession(
            record: record,
            recording: recording(for: record.id, requested: start.record),
            overlayLimits: configuration.overlayLimits,
            agentOutbox: agentOutbox
        )
        sessions[record.id] = session
        traces.started(record, via: "code")
        let created = SessionCreated(
            sessionID: record.id,
            ticket: record.ticket,
            mode: record.mode,
            joinCode: JoinCodeFormat.grouped(code),
            joinURL: joinBaseURL + JoinLink.path(code: code, key: issued.key),
            expiresAt: record.expiresAt,
            resumeToken: registerResumeToken(ResumeToken.generate(), sessionID: record.id, role: .agent),
            recording: session.recording != nil ? true : nil
        )
        logger.info(
            "Session opened",
            metadata: ["tandem.session.id": "\(record.id)", "tandem.ticket": "\(record.ticket)", "tandem.agent": "\(agent.name)"]
        )
        return (session, created)
    }

    /// The recording of a new session when its agent asked for one (and this broker records).
    func recording(for sessionID: String, requested: Bool?) -> SessionRecording? {
        guard requested == true, let recorder else { return nil }
        return SessionRecording(sessionID: sessionID, writer: recorder)
    }

    /// The customer is in (its join is logged): the agent and the supervisors hear of it, the
    /// customer gets its welcome, then the agent's streams and every overlay.
    func welcomeCustomer(_ session: LiveSession, outbox: ParticipantOutbox, client: String?, now: Date) {
        let joined = ControlMessage.peerJoined(PeerJoined(role: .customer, client: client, codecs: outbox.codecs))
        _ = session.outbox(for: .agent)?.enqueue(joined)
        session.tellWatchers(joined)
        let welcome = SessionJoined(
            sessionID: session.id,
            ticket: session.ticket,
            mode: session.mode,
            agent: session.agentName,
            resumeToken: registerResumeToken(ResumeToken.generate(), sessionID: session.id, role: .customer),
            recording: session.recording != nil ? true : nil,
            codecs: session.outbox(for: .agent)?.codecs
        )
        session.attachCustomer(outbox, welcome: welcome, now: now)
    }

    /// Stops other brokers sending customers here for this session's code. A failure only
    /// costs a redirect that then gets "used" or "expired" here, so it is logged, not thrown.
    func withdrawPublishedCode(sessionID: String) async {
        guard let registry else { return }
        do {
            try await registry.withdrawCode(sessionID: sessionID)
        } catch {
            logger.warning("Could not withdraw a published join code", metadata: ["tandem.session.id": "\(sessionID)"])
        }
    }

    /// Carries out an `.end` action: writes the ending, then tells and closes both sides.
    func finish(_ session: LiveSession, ending: SessionEnding, by actor: String? = nil, closeCode: TandemCloseCode = .normal) async {
        var ending = ending
        ending.endedBy = actor ?? SessionEnding.defaultActor(for: ending.reason, agent: session.agentName)
        // Frames still queued for a participant will not be delivered: they count as dropped.
        for role in ParticipantRole.allCases {
            guard let outbox = session.outbox(for: role) else { continue }
            for (streamID, count) in outbox.discardMedia() {
                ending.addDropped(count, owner: role.peer, streamID: streamID)
            }
        }
        codes.retire(sessionID: session.id, now: ending.endedAt)
        sessions[session.id] = nil
        if queue.remove(id: session.id) != nil {
            withdrawOffer(forEntry: session.id, reason: .customerLeft)
            publishQueueStatus()
        }
        await withdrawPublishedCode(sessionID: session.id)
        for hash in (resumeTokenOf.removeValue(forKey: session.id) ?? [:]).values { resumeTokens[hash] = nil }
        do {
            try await store.recordEnding(sessionID: session.id, ending: ending)
        } catch {
            // Nothing is acknowledged that is not logged: close with 1011 instead of session.ended;
            // the next start closes the session as broker-crash.
            logger.error(
                "Could not record session ending",
                metadata: ["tandem.session.id": "\(session.id)", "error": "\(String(reflecting: type(of: error)))"]
            )
            for role in ParticipantRole.allCases { session.outbox(for: role)?.finish(.internalError) }
            for watcher in session.watchers { watcher.outbox.finish(.internalError) }
            await session.recording?.close()
            traces.ended(sessionID: session.id, ending: ending, logged: false)
            takenFromLine[session.id] = nil
            return
        }
        metrics.sessionEnded(ending.reason)
        traces.ended(sessionID: session.id, ending: ending, logged: true)
        helpRequests[session.id] = nil
        helpRequestCounts[session.id] = nil
        if let taken = takenFromLine.removeValue(forKey: session.id) {
            waitEstimator.ended(line: taken.line, handleSeconds: ending.endedAt.timeIntervalSince(taken.since), at: ending.endedAt)
        }
        // After the ending is logged, so the recording's hash follows session.ended.
        await session.recording?.close()
        let ended = ControlMessage.sessionEnded(SessionEnded(sessionID: session.id, reason: ending.reason, outcome: ending.outcome))
        for role in ParticipantRole.allCases {
            guard let outbox = session.outbox(for: role) else { continue }
            // The customer in the session at its end is asked what it thought (§5.16).
            _ = outbox.enqueue(role == .customer ? surveyOffer(session, ending: ending) : ended)
            outbox.finish(closeCode)
        }
        for watcher in session.watchers {
            _ = watcher.outbox.enqueue(ended)
            watcher.outbox.finish(closeCode)
        }
        logger.info(
            "Session ended",
            metadata: [
                "tandem.session.id": "\(session.id)", "tandem.ticket": "\(session.ticket)",
                "tandem.end.reason": "\(ending.reason.rawValue)", "tandem.outcome": "\(ending.outcome?.rawValue ?? "-")",
            ]
        )
        await agentSessionsChanged(session.agentName, now: ending.endedAt)
    }

    /// Asks `session` to end for `reason` (with the agent's `outcome` and `note`) and carries
    /// out the result. Returns the ending this request caused, or the earlier one when the
    /// session had already ended.
    @discardableResult
    func end(
        _ session: LiveSession,
        reason: EndReason,
        outcome: SessionOutcome? = nil,
        note: String? = nil,
        at: Date = Date(),
        by actor: String? = nil
    ) async -> SessionEnding {
        switch session.end(reason: reason, outcome: outcome, note: note, at: at) {
        case .end(var ending):
            await finish(session, ending: ending, by: actor, closeCode: ending.reason == .brokerShutdown ? .goingAway : .normal)
            ending.endedBy = actor ?? SessionEnding.defaultActor(for: ending.reason, agent: session.agentName)
            return ending
        case .alreadyEnded(let ending):
            return ending
        }
    }

    /// Time passed for `session`: carries out the ending it caused, if any (its code expired,
    /// an away participant did not come back, or nobody took its transfer).
    private func endIfDue(_ session: LiveSession, now: Date) async {
        switch session.tick(now: now) {
        case .end(let ending):
            await finish(session, ending: ending)
        case .none:
            break
        }
    }

    /// Ends waiting sessions whose code expired and sessions whose participant did not come
    /// back within its grace period, and forgets old dead codes.
    func sweep(now: Date = Date()) async {
        for sessionID in codes.expire(now: now) {
            guard let session = sessions[sessionID] else { continue }
            await endIfDue(session, now: now)
        }
        for session in sessions.values {
            if let deadline = session.awayDeadline, deadline <= now { await endIfDue(session, now: now) }
        }
        codes.prune(now: now)
        await expireOffers(now: now)
        await overflowQueue(now: now)
        await routeQueue(now: now)
        if now.timeIntervalSince(lastPresenceRefresh) >= 60 {
            lastPresenceRefresh = now
            refreshPresence()
        }
        await syncSharedFloor(now: now)
        await publishFloor(now: now)
        if now.timeIntervalSince(lastQueueStatus) >= configuration.queueStatusInterval.seconds { publishQueueStatus(everyone: true, now: now) }
        guesses.prune(now: limiterNow)
        anonymousWrites.prune(now: limiterNow)
        consoleTokens.prune(now: now)
    }

    /// A console sign-in for `user`, valid for `configuration.consoleTokenLifetime`.
    func issueConsoleToken(for user: String, lifetime: Duration? = nil, now: Date = Date()) -> (token: String, expiresAt: Date) {
        consoleTokens.issue(for: user, now: now, lifetime: lifetime?.seconds ?? configuration.consoleTokenLifetime)
    }

    /// The user a console token belongs to, while it is valid.
    func consoleUser(token: String, now: Date = Date()) -> String? {
        consoleTokens.user(for: token, now: now)
    }

    /// Ends the live sessions of agents whose user was revoked since they started
    /// (`tandem users revoke` writes the database directly; the sweeper calls this).
    func endSessionsOfRevokedUsers(now: Date = Date()) async {
        // Their presence and floor connections too (§20): no more offers, no more floor.
        let users = Set(sessions.values.map(\.agentName)).union(presenceOutboxes.keys).union(floorOutboxes.values.map(\.user))
        guard !users.isEmpty else { return }
        do {
            let revoked = Set(try await store.users().filter { !$0.isActive && users.contains($0.name) }.map(\.name))
            guard !revoked.isEmpty else { return }
            for session in sessions.values where revoked.contains(session.agentName) {
                await end(session, reason: .accessRevoked, at: now)
            }
            for name in revoked { presenceOutboxes[name]?.finish(.unauthorized) }
            for (_, viewer) in floorOutboxes where revoked.contains(viewer.user) { viewer.outbox.finish(.unauthorized) }
        } catch {
            logger.error("Could not check for revoked users", metadata: ["error": "\(String(reflecting: type(of: error)))"])
        }
    }

    /// Records every session in memory as active now, so a crash closes it at this time.
    func recordActivity(now: Date = Date()) async {
        let ids = Array(sessions.keys)
        do {
            try await store.recordActivity(sessionIDs: ids, at: now)
        } catch {
            logger.error("Could not record session activity", metadata: ["error": "\(String(reflecting: type(of: error)))"])
        }
    }

    /// Sessions by state, for the metrics: waiting for the customer, live, live with a participant away.
    func sessionCounts() -> (waiting: Int, live: Int, away: Int) {
        var counts = (waiting: 0, live: 0, away: 0)
        for session in sessions.values {
            if session.awayDeadline != nil {
                counts.away += 1
            } else if session.outbox(for: .customer) == nil {
                counts.waiting += 1
            } else {
                counts.live += 1
            }
        }
        return counts
    }
}
