import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Durable storage of users and the session log.
///
/// Every method returns only after its write is committed, so the broker acknowledges
/// nothing that a crash could lose.
public protocol TandemStore: Sendable {
    /// Adds a user; throws ``StoreError/duplicateName`` when the name is taken.
    func addUser(_ user: UserRecord) async throws -> UserRecord
    /// The user holding the token with this hash, revoked or not.
    func user(tokenHash: String) async throws -> UserRecord?
    /// The user with this name, revoked or not.
    func user(name: String) async throws -> UserRecord?
    func users() async throws -> [UserRecord]
    /// Marks the user revoked; returns false when there is no active user of that name.
    func revokeUser(name: String, at: Date) async throws -> Bool

    func insertSession(_ session: SessionRecord) async throws
    func recordCustomerJoined(sessionID: String, at: Date, client: String?, address: String?) async throws
    /// Another agent took the live session over (§17): the session is now `agent`'s, and the
    /// `transfer.answered` event with `detail` is appended, in one transaction.
    func recordTakeover(sessionID: String, agent: String, detail: [String: String], at: Date) async throws
    func recordEnding(sessionID: String, ending: SessionEnding) async throws
    /// Sets the outcome (and note) of an ended session that has none yet; returns false otherwise.
    func recordLateOutcome(sessionID: String, outcome: SessionOutcome, note: String?) async throws -> Bool
    func session(id: String) async throws -> SessionRecord?
    func sessions(matching filter: SessionFilter) async throws -> [SessionRecord]
    /// Ends every session still open in the log (left by a broker that died) with `reason`.
    /// Returns how many were closed.
    func closeOpenSessions(reason: EndReason) async throws -> Int

    /// Notes that these live sessions were active at `at`: a crash closes them there.
    func recordActivity(sessionIDs: [String], at: Date) async throws

    /// Appends an event to the audit chain (a failed join, a stream start, consent...).
    /// An event of a live session also counts as its latest activity.
    func recordEvent(sessionID: String?, kind: AuditEventKind, actor: String?, detail: [String: String], at: Date) async throws
    /// The audit events of one session, in order.
    func events(sessionID: String) async throws -> [AuditEvent]
    /// Events in `seq` order, by time (for export).
    func auditEvents(since: Date?, until: Date?, limit: Int) async throws -> [AuditEvent]
    /// Events after `seq`, in order (webhook delivery reads the log this way).
    func auditEvents(afterSeq seq: Int64, limit: Int) async throws -> [AuditEvent]
    /// The last event delivered to the webhook `url`, or nil before its first delivery.
    func webhookCursor(url: String) async throws -> Int64?
    /// Records that the webhook `url` got (or skipped) every event up to `seq`.
    func setWebhookCursor(url: String, seq: Int64) async throws
    /// Every event and checkpoint, read in one transaction.
    func auditSnapshot() async throws -> AuditLogSnapshot
    func checkpoints() async throws -> [AuditCheckpoint]
    /// Signs and stores a checkpoint of the current head. With `onlyIfNew`, nothing is
    /// written (nil) when the last checkpoint already covers the head.
    func writeCheckpoint(kind: AuditCheckpoint.Kind, actor: String, at: Date, signer: AuditSigner, onlyIfNew: Bool) async throws -> AuditCheckpoint?
    /// Keeps the signed tree head checkpoint `checkpointID` commits to (§11.10); a head
    /// already kept stays.
    func attachTreeHead(_ head: TreeHead, checkpointID: Int64) async throws
    /// Removes the events before `before` (a prefix of the chain) after writing a signed
    /// prune checkpoint that anchors the rest, and records `audit.pruned` by `actor`.
    func prune(before: Date, actor: String, at: Date, signer: AuditSigner) async throws -> PruneResult
}

extension TandemStore {
    /// Recomputes the whole hash chain and checks every checkpoint against `publicKey`;
    /// with `signedHead` (the last checkpoint this broker signed, kept outside the database)
    /// also that the log was not rolled back behind it (§11.7).
    public func verifyAuditLog(publicKey: AuditPublicKey, signedHead: AuditCheckpoint? = nil) async throws -> AuditVerification {
        AuditChain.verify(try await auditSnapshot(), publicKey: publicKey.raw, fingerprint: publicKey.fingerprint, signedHead: signedHead)
    }
}

/// Errors of a ``TandemStore``.
public struct StoreError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case duplicateName
        case notFound
        case invalidConfiguration
    }

    private let code: Code
    private let detail: String?
    private init(_ code: Code, detail: String? = nil) {
        self.code = code
        self.detail = detail
    }

    /// A user with that name exists already.
    public static let duplicateName = StoreError(.duplicateName)
    /// No row with that key.
    public static let notFound = StoreError(.notFound)
    /// The store cannot be opened as configured (a bad database URL, say).
    public static func invalidConfiguration(_ detail: String) -> StoreError { StoreError(.invalidConfiguration, detail: detail) }

    public var description: String {
        switch code {
        case .duplicateName: "a user with that name already exists"
        case .notFound: "not found"
        case .invalidConfiguration: "invalid store configuration: \(detail ?? "")"
        }
    }
}
