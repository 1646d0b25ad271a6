#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One entry of the append-only, hash-chained audit log.
///
/// `hash` is SHA-256 over the event's canonical form and the previous event's hash, so
/// editing, deleting, reordering or inserting an event breaks the chain.
/// See [protocol/README.md § Audit log](../../protocol/README.md#11-audit-log).
public struct AuditEvent: Sendable, Equatable, Codable {
    public var seq: Int64
    public var at: Date
    public var sessionID: String?
    public var kind: String
    /// Who caused it: a user name, `customer`, or `broker`.
    public var actor: String?
    /// Facts of the event (never tokens, join codes or chat text).
    public var detail: [String: String]
    public var previousHash: String
    public var hash: String

    enum CodingKeys: String, CodingKey {
        case seq, at
        case sessionID = "sessionId"
        case kind, actor, detail, previousHash, hash
    }

    public init(seq: Int64, at: Date, sessionID: String?, kind: String, actor: String?, detail: [String: String], previousHash: String, hash: String) {
        self.seq = seq
        self.at = at
        self.sessionID = sessionID
        self.kind = kind
        self.actor = actor
        self.detail = detail
        self.previousHash = previousHash
        self.hash = hash
    }
}

/// Body of `GET /v1/audit/verify`.
public struct AuditVerification: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable {
        case intact
        /// An event's content no longer matches its hash.
        case altered
        /// Sequence numbers skip: events were removed.
        case deleted
        /// An event does not follow the one before it: inserted or reordered.
        case inserted
    }

    public var status: Status
    public var count: Int64
    public var headHash: String?
    /// The first event where the chain breaks.
    public var firstBadSeq: Int64?

    public init(status: Status, count: Int64, headHash: String?, firstBadSeq: Int64?) {
        self.status = status
        self.count = count
        self.headHash = headHash
        self.firstBadSeq = firstBadSeq
    }
}

/// Body of `GET /v1/audit/sessions/{id}/events`.
public struct AuditTimeline: Sendable, Equatable, Codable {
    public var session: SessionRecord
    public var events: [AuditEvent]

    public init(session: SessionRecord, events: [AuditEvent]) {
        self.session = session
        self.events = events
    }
}
