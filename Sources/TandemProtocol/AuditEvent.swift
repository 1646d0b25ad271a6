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
    public var kind: AuditEventKind
    /// Who caused it: a user name, `customer`, or `broker`.
    public var actor: String?
    /// Facts of the event (never tokens, join codes or chat text).
    public var detail: [String: String]
    public var previousHash: String
    public var hash: String

    enum CodingKeys: String, CodingKey {
        case seq, at, atMs
        case sessionID = "sessionId"
        case kind, actor, detail, previousHash, hash
    }

    public init(
        seq: Int64,
        at: Date,
        sessionID: String?,
        kind: AuditEventKind,
        actor: String?,
        detail: [String: String],
        previousHash: String,
        hash: String
    ) {
        self.seq = seq
        self.at = at
        self.sessionID = sessionID
        self.kind = kind
        self.actor = actor
        self.detail = detail
        self.previousHash = previousHash
        self.hash = hash
    }

    /// `atMs` (epoch milliseconds, what the hash covers) wins over the RFC 3339 `at`,
    /// which has whole seconds only.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let millis = try container.decodeIfPresent(Int64.self, forKey: .atMs)
        self.init(
            seq: try container.decode(Int64.self, forKey: .seq),
            at: try millis.map(Date.init(epochMilliseconds:)) ?? container.decode(Date.self, forKey: .at),
            sessionID: try container.decodeIfPresent(String.self, forKey: .sessionID),
            kind: try container.decode(AuditEventKind.self, forKey: .kind),
            actor: try container.decodeIfPresent(String.self, forKey: .actor),
            detail: try container.decode([String: String].self, forKey: .detail),
            previousHash: try container.decode(String.self, forKey: .previousHash),
            hash: try container.decode(String.self, forKey: .hash)
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(seq, forKey: .seq)
        try container.encode(at, forKey: .at)
        try container.encode(at.epochMilliseconds, forKey: .atMs)
        try container.encode(sessionID, forKey: .sessionID)
        try container.encode(kind, forKey: .kind)
        try container.encode(actor, forKey: .actor)
        try container.encode(detail, forKey: .detail)
        try container.encode(previousHash, forKey: .previousHash)
        try container.encode(hash, forKey: .hash)
    }
}

/// Body of `GET /v1/audit/verify`.
public struct AuditVerification: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable {
        case intact
        /// An event's content no longer matches its hash, or the chain was recomputed
        /// after a change (a signed checkpoint no longer matches).
        case altered
        /// Sequence numbers skip: events were removed.
        case deleted
        /// An event does not follow the one before it: inserted or reordered.
        case inserted
        /// The log ends before the last event a signed checkpoint covers.
        case truncated
        /// A checkpoint's signature is invalid, it was signed by another key, or one is missing.
        case badCheckpoint = "bad-checkpoint"
        /// The log is behind the last checkpoint this broker signed (kept outside the
        /// database), or differs from it at its seq: an older copy of the database, a lost
        /// WAL, or removed events written again.
        case rolledBack = "rolled-back"
    }

    public var status: Status
    /// Events checked (after the pruned prefix).
    public var count: Int64
    public var headHash: String?
    /// The first event where the chain breaks.
    public var firstBadSeq: Int64?
    /// What was found, in a sentence.
    public var message: String?
    /// Signed checkpoints checked.
    public var checkpoints: Int
    public var lastCheckpointSeq: Int64?
    public var lastCheckpointAt: Date?
    /// Events after the last checkpoint: removing them would not be detected until the
    /// next checkpoint covers them.
    public var unsignedEvents: Int64
    /// Events up to this seq were removed by a signed prune.
    public var prunedThroughSeq: Int64?
    public var publicKeyFingerprint: String?
    /// The last event this broker signed, from the checkpoint it keeps outside the database
    /// (`DATA/audit-head.json`); nil when it keeps none.
    public var signedHeadSeq: Int64?
    /// `rolled-back` only: the log's newest event (with `signedHeadSeq`, both numbers).
    public var headSeq: Int64?

    public init(
        status: Status,
        count: Int64,
        headHash: String?,
        firstBadSeq: Int64?,
        message: String? = nil,
        checkpoints: Int = 0,
        lastCheckpointSeq: Int64? = nil,
        lastCheckpointAt: Date? = nil,
        unsignedEvents: Int64 = 0,
        prunedThroughSeq: Int64? = nil,
        publicKeyFingerprint: String? = nil,
        signedHeadSeq: Int64? = nil,
        headSeq: Int64? = nil
    ) {
        self.status = status
        self.count = count
        self.headHash = headHash
        self.firstBadSeq = firstBadSeq
        self.message = message
        self.checkpoints = checkpoints
        self.lastCheckpointSeq = lastCheckpointSeq
        self.lastCheckpointAt = lastCheckpointAt
        self.unsignedEvents = unsignedEvents
        self.prunedThroughSeq = prunedThroughSeq
        self.publicKeyFingerprint = publicKeyFingerprint
        self.signedHeadSeq = signedHeadSeq
        self.headSeq = headSeq
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

extension AuditEvent {
    /// The detail key of an event's number within its session: 1, 2, 3, … (§11.9).
    public static let sessionSeqKey = "sessionSeq"

    /// The event's number within its session, when it has one.
    public var sessionSeq: Int64? { detail[Self.sessionSeqKey].flatMap { Int64($0) } }

    /// `sessionSeq` of an event's detail as stored (JSON text), when it has one.
    public static func sessionSeq(inDetailJSON json: String) -> Int64? {
        guard let detail = try? JSONDecoder().decode([String: String].self, from: Data(json.utf8)) else { return nil }
        return detail[sessionSeqKey].flatMap { Int64($0) }
    }
}
