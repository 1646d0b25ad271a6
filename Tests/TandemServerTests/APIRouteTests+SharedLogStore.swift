import Foundation
import TandemCore
import TandemProtocol
import TandemSQLite

/// A SQLite store that presents itself as one several brokers share (a ``BrokerRegistry``, as
/// the PostgreSQL store is, protocol/README.md §14), so that the API's answers about a session
/// another broker holds can be checked without PostgreSQL: a session open in the log that this
/// broker does not hold. Everything is the SQLite store's; the registry knows no other broker.
struct SharedLogStore: TandemStore, BrokerRegistry {
    let base: SQLiteStore
    let brokerID = "broker-under-test"

    // MARK: TandemStore, forwarded

    func addUser(_ user: UserRecord) async throws -> UserRecord { try await base.addUser(user) }
    func user(tokenHash: String) async throws -> UserRecord? { try await base.user(tokenHash: tokenHash) }
    func user(name: String) async throws -> UserRecord? { try await base.user(name: name) }
    func users() async throws -> [UserRecord] { try await base.users() }
    func revokeUser(name: String, at: Date) async throws -> Bool { try await base.revokeUser(name: name, at: at) }
    func insertSession(_ session: SessionRecord) async throws { try await base.insertSession(session) }
    func recordCustomerJoined(sessionID: String, at: Date, client: String?, address: String?) async throws {
        try await base.recordCustomerJoined(sessionID: sessionID, at: at, client: client, address: address)
    }
    func recordTakeover(sessionID: String, agent: String, detail: [String: String], at: Date) async throws {
        try await base.recordTakeover(sessionID: sessionID, agent: agent, detail: detail, at: at)
    }
    func recordEnding(sessionID: String, ending: SessionEnding) async throws { try await base.recordEnding(sessionID: sessionID, ending: ending) }
    func recordLateOutcome(sessionID: String, outcome: SessionOutcome, note: String?) async throws -> Bool {
        try await base.recordLateOutcome(sessionID: sessionID, outcome: outcome, note: note)
    }
    func session(id: String) async throws -> SessionRecord? { try await base.session(id: id) }
    func sessions(matching filter: SessionFilter) async throws -> [SessionRecord] { try await base.sessions(matching: filter) }
    func closeOpenSessions(reason: EndReason) async throws -> Int { try await base.closeOpenSessions(reason: reason) }
    func recordActivity(sessionIDs: [String], at: Date) async throws { try await base.recordActivity(sessionIDs: sessionIDs, at: at) }
    func recordEvent(sessionID: String?, kind: AuditEventKind, actor: String?, detail: [String: String], at: Date) async throws {
        try await base.recordEvent(sessionID: sessionID, kind: kind, actor: actor, detail: detail, at: at)
    }
    func events(sessionID: String) async throws -> [AuditEvent] { try await base.events(sessionID: sessionID) }
    func auditEvents(since: Date?, until: Date?, limit: Int) async throws -> [AuditEvent] {
        try await base.auditEvents(since: since, until: until, limit: limit)
    }
    func auditEvents(afterSeq seq: Int64, limit: Int) async throws -> [AuditEvent] { try await base.auditEvents(afterSeq: seq, limit: limit) }
    func webhookCursor(url: String) async throws -> Int64? { try await base.webhookCursor(url: url) }
    func setWebhookCursor(url: String, seq: Int64) async throws { try await base.setWebhookCursor(url: url, seq: seq) }
    func auditSnapshot() async throws -> AuditLogSnapshot { try await base.auditSnapshot() }
    func checkpoints() async throws -> [AuditCheckpoint] { try await base.checkpoints() }
    func writeCheckpoint(kind: AuditCheckpoint.Kind, actor: String, at: Date, signer: AuditSigner, onlyIfNew: Bool) async throws -> AuditCheckpoint? {
        try await base.writeCheckpoint(kind: kind, actor: actor, at: at, signer: signer, onlyIfNew: onlyIfNew)
    }
    func attachTreeHead(_ head: TreeHead, checkpointID: Int64) async throws { try await base.attachTreeHead(head, checkpointID: checkpointID) }
    func prune(before: Date, actor: String, at: Date, signer: AuditSigner) async throws -> PruneResult {
        try await base.prune(before: before, actor: actor, at: at, signer: signer)
    }

    // MARK: BrokerRegistry, alone

    func heartbeat(url: String, at: Date) async throws {}
    func deregister() async throws {}
    func publishCode(hash: String, sessionID: String, expiresAt: Date) async throws {}
    func withdrawCode(sessionID: String) async throws {}
    func broker(holdingCodeHash hash: String, aliveSince: Date, now: Date) async throws -> String? { nil }
    /// Every open session not held here is held by `otherBroker`.
    func broker(holdingSession sessionID: String) async throws -> String? {
        try await base.session(id: sessionID)?.isEnded == false ? Self.otherBroker : nil
    }
    static let otherBroker = "https://broker-2.example.com:8443"
    func closeSessionsOfLostBrokers(silentSince: Date, reason: EndReason) async throws -> [String] { [] }
    func publishAgents(_ agents: [FloorState.Agent]) async throws {}
    func remoteAgents(aliveSince: Date) async throws -> [FloorState.Agent] { [] }
    func publishQueue(upsert: [SharedQueueEntry], remove: [String], keepOnly: [String]?) async throws {}
    func extendClaim(queueID: String, agent: String, until: Date) async throws {}
    func remoteQueue(aliveSince: Date) async throws -> [SharedQueueEntry] { [] }
    func claimedHere(now: Date) async throws -> Set<String> { [] }
    func claimForOffer(queueID: String, agent: String, until: Date, now: Date) async throws -> Bool { false }
    func releaseClaim(queueID: String, agent: String) async throws {}
    func claimQueueEntry(
        line: String,
        agent: String,
        before: SupportQueue.Entry?,
        until: Date,
        aliveSince: Date,
        now: Date
    ) async throws -> (queueID: String, url: String)? { nil }
    func claimedEntries(forAgent agent: String, now: Date) async throws -> [String] { [] }
}
