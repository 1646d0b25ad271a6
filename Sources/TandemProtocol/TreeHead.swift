#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A signed tree head of the audit log (protocol/README.md §11.8): the Merkle tree (RFC 9162)
/// over the log's first `size` events, its root, when it was signed, and the broker's
/// Ed25519 signature over ``signedText``.
public struct TreeHead: Sendable, Equatable, Codable {
    /// The `seq` of leaf 0: 1, or the first event kept after a prune (§11.6).
    public var firstSeq: Int64
    public var size: Int
    /// Lower-case hex of the 32-byte root.
    public var rootHash: String
    /// When the broker signed it (not when the log had `size` events).
    public var at: Date
    /// Base64 of the raw Ed25519 public key.
    public var publicKey: String
    /// Base64 of the signature.
    public var signature: String

    public init(firstSeq: Int64, size: Int, rootHash: String, at: Date, publicKey: String = "", signature: String = "") {
        self.firstSeq = firstSeq
        self.size = size
        self.rootHash = rootHash
        self.at = at
        self.publicKey = publicKey
        self.signature = signature
    }

    /// A head as a store keeps it (JSON text), nil for none.
    public static func fromStored(_ json: String?) throws -> TreeHead? {
        guard let json else { return nil }
        return try TandemJSON.makeDecoder().decode(TreeHead.self, from: Data(json.utf8))
    }

    /// `tandem-tree-head/1`, the first seq, the size, the root (hex) and the time (Unix
    /// milliseconds), one a line.
    public var signedText: String {
        ["tandem-tree-head/1", String(firstSeq), String(size), rootHash, String(at.epochMilliseconds)].joined(separator: "\n")
    }
}

/// An audit event's inclusion proof (§11.8): its leaf in the tree of `treeHead`.
public struct InclusionProof: Sendable, Equatable, Codable {
    public var seq: Int64
    /// The event's position among the log's events (0 = the first one).
    public var leafIndex: Int
    /// The event's chain hash (hex, §11.2), the leaf's data.
    public var eventHash: String
    /// Hex hashes, leaf to root.
    public var path: [String]
    public var treeHead: TreeHead

    public init(seq: Int64, leafIndex: Int, eventHash: String, path: [String], treeHead: TreeHead) {
        self.seq = seq
        self.leafIndex = leafIndex
        self.eventHash = eventHash
        self.path = path
        self.treeHead = treeHead
    }
}

/// A consistency proof (§11.8): the tree of `oldSize` events is a prefix of `treeHead`'s.
public struct ConsistencyProof: Sendable, Equatable, Codable {
    public var oldSize: Int
    /// The old tree's root (hex), as this log has it.
    public var oldRootHash: String
    public var path: [String]
    public var treeHead: TreeHead

    public init(oldSize: Int, oldRootHash: String, path: [String], treeHead: TreeHead) {
        self.oldSize = oldSize
        self.oldRootHash = oldRootHash
        self.path = path
        self.treeHead = treeHead
    }
}
