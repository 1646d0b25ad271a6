#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A signed statement by the broker that the audit log's hash chain reached event `seq`
/// with hash `headHash`. Checkpoints make truncation and wholesale rewriting of the chain
/// detectable, and let `tandem audit prune` remove old events while the rest stays verifiable.
/// See [protocol/README.md § Checkpoints](../../protocol/README.md#113-signed-checkpoints).
public struct AuditCheckpoint: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        /// Written every checkpoint interval when new events arrived.
        case periodic
        /// Written on graceful shutdown.
        case shutdown
        /// Written by `tandem audit prune` before it removes events.
        case prune
    }

    /// 1, 2, 3, ... without gaps.
    public var id: Int64
    public var at: Date
    public var kind: Kind
    /// The last event covered (0 for an empty log).
    public var seq: Int64
    /// The hash of event `seq` (the genesis hash for an empty log).
    public var headHash: String
    /// Who asked for it: a user name for prune, `broker` otherwise.
    public var actor: String
    /// Prune only: events up to and including this seq are removed...
    public var prunedThroughSeq: Int64?
    /// ...and this was the hash of the last removed event: the next event links to it.
    public var prunedThroughHash: String?
    /// Base64 of the raw 32-byte Ed25519 public key that signed.
    public var publicKey: String
    /// Base64 of the Ed25519 signature over ``signedText``.
    public var signature: String
    /// The signed head of the Merkle tree of the log up to `seq` (§11.10), signed on its own
    /// right after the checkpoint; nil for checkpoints from before it existed, and until set.
    public var treeHead: TreeHead?

    public init(
        id: Int64,
        at: Date,
        kind: Kind,
        seq: Int64,
        headHash: String,
        actor: String,
        prunedThroughSeq: Int64? = nil,
        prunedThroughHash: String? = nil,
        publicKey: String = "",
        signature: String = "",
        treeHead: TreeHead? = nil
    ) {
        self.id = id
        self.at = at
        self.kind = kind
        self.seq = seq
        self.headHash = headHash
        self.actor = actor
        self.prunedThroughSeq = prunedThroughSeq
        self.prunedThroughHash = prunedThroughHash
        self.publicKey = publicKey
        self.signature = signature
        self.treeHead = treeHead
    }

    enum CodingKeys: String, CodingKey {
        case id, at, atMs, kind, seq, headHash, actor, prunedThroughSeq, prunedThroughHash, publicKey, signature, treeHead
    }

    /// `atMs` (epoch milliseconds, what is signed) wins over the RFC 3339 `at`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let millis = try container.decodeIfPresent(Int64.self, forKey: .atMs)
        self.init(
            id: try container.decode(Int64.self, forKey: .id),
            at: try millis.map(Date.init(epochMilliseconds:)) ?? container.decode(Date.self, forKey: .at),
            kind: try container.decode(Kind.self, forKey: .kind),
            seq: try container.decode(Int64.self, forKey: .seq),
            headHash: try container.decode(String.self, forKey: .headHash),
            actor: try container.decode(String.self, forKey: .actor),
            prunedThroughSeq: try container.decodeIfPresent(Int64.self, forKey: .prunedThroughSeq),
            prunedThroughHash: try container.decodeIfPresent(String.self, forKey: .prunedThroughHash),
            publicKey: try container.decode(String.self, forKey: .publicKey),
            signature: try container.decode(String.self, forKey: .signature),
            treeHead: try container.decodeIfPresent(TreeHead.self, forKey: .treeHead)
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(at, forKey: .at)
        try container.encode(at.epochMilliseconds, forKey: .atMs)
        try container.encode(kind, forKey: .kind)
        try container.encode(seq, forKey: .seq)
        try container.encode(headHash, forKey: .headHash)
        try container.encode(actor, forKey: .actor)
        try container.encode(prunedThroughSeq, forKey: .prunedThroughSeq)
        try container.encode(prunedThroughHash, forKey: .prunedThroughHash)
        try container.encode(publicKey, forKey: .publicKey)
        try container.encode(signature, forKey: .signature)
        try container.encode(treeHead, forKey: .treeHead)
    }

    /// The exact text that is signed: fields joined by newlines, times in epoch milliseconds.
    public var signedText: String {
        [
            "tandem-audit-checkpoint/1", String(id), String(at.epochMilliseconds), kind.rawValue, String(seq), headHash, actor,
            prunedThroughSeq.map(String.init) ?? "", prunedThroughHash ?? "", publicKey,
        ].joined(separator: "\n")
    }
}

/// Body of `GET /v1/audit/checkpoints`.
public struct AuditCheckpointList: Sendable, Equatable, Codable {
    public var publicKey: AuditPublicKey
    public var checkpoints: [AuditCheckpoint]

    public init(publicKey: AuditPublicKey, checkpoints: [AuditCheckpoint]) {
        self.publicKey = publicKey
        self.checkpoints = checkpoints
    }
}

/// Body of `GET /v1/audit/public-key`: the broker's checkpoint signing key.
public struct AuditPublicKey: Sendable, Equatable, Codable {
    /// Always `ed25519`.
    public var algorithm: String
    /// Base64 of the raw 32-byte key.
    public var raw: String
    /// SubjectPublicKeyInfo PEM, usable with `openssl pkeyutl -verify -rawin`.
    public var pem: String
    /// `SHA256:` and the hex SHA-256 of the raw key.
    public var fingerprint: String

    public init(algorithm: String = "ed25519", raw: String, pem: String, fingerprint: String) {
        self.algorithm = algorithm
        self.raw = raw
        self.pem = pem
        self.fingerprint = fingerprint
    }
}

/// Body of `POST /v1/audit/prune`.
public struct PruneRequest: Sendable, Equatable, Codable {
    /// Events strictly before this time are removed.
    public var before: Date

    public init(before: Date) {
        self.before = before
    }
}

/// Reply of `POST /v1/audit/prune`.
public struct PruneResult: Sendable, Equatable, Codable {
    public var removedEvents: Int64
    /// The removed prefix ends here (nil when nothing was removed).
    public var prunedThroughSeq: Int64?
    /// The signed prune checkpoint (nil when nothing was removed).
    public var checkpoint: AuditCheckpoint?

    public init(removedEvents: Int64, prunedThroughSeq: Int64?, checkpoint: AuditCheckpoint?) {
        self.removedEvents = removedEvents
        self.prunedThroughSeq = prunedThroughSeq
        self.checkpoint = checkpoint
    }
}
