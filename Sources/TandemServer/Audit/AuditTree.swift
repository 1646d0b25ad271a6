import Logging
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The audit log's Merkle tree (protocol/README.md §11.8), kept in memory as the log grows,
/// so that a tree head or a proof reads only the events added since the last request (and
/// two or three events to check that the log is still the one the tree was built from)
/// instead of the whole log. Proofs cost O(log² n) hashes (``MerkleTreeCache``).
///
/// The tree follows the database, never the other way round: when the log no longer starts
/// or ends where the tree does (a prune, a rollback), or an event the tree holds has another
/// hash in the database, the tree is built again from the database. A change elsewhere in
/// the middle of the log is found by ``revalidate()``, which the checkpointer runs before it
/// signs a checkpoint's head (§11.10).
actor AuditTree {
    /// Why no head is signed over the log now (the API answers 409).
    struct Refusal: Error, CustomStringConvertible {
        let description: String
    }

    private let store: any TandemStore
    private let logger: Logger
    private var cache = MerkleTreeCache()
    private var firstSeq: Int64 = 1
    private var firstHash = ""
    private var lastHash = ""

    init(store: any TandemStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    private var lastSeq: Int64 { firstSeq + Int64(cache.count) - 1 }

    /// The tree as of the log now: `firstSeq` (the seq of leaf 0) and the number of leaves.
    func sync() async throws -> (firstSeq: Int64, size: Int) {
        if cache.count > 0 {
            let first = try await event(seq: firstSeq)
            let last = try await event(seq: lastSeq)
            if first?.hash != firstHash || last?.hash != lastHash {
                rebuild(because: "the log no longer starts at event \(firstSeq) or ends at event \(lastSeq) as it did")
            }
        }
        try await extend()
        try await checkLastCheckpoint()
        return (cache.count == 0 ? 1 : firstSeq, cache.count)
    }

    /// Compares every leaf with the database (O(n) reads); builds the tree again when an
    /// event was changed behind the broker. Returns whether the tree had to be rebuilt.
    @discardableResult
    func revalidate() async throws -> Bool {
        var after = firstSeq - 1
        while cache.count > 0 {
            let batch = try await store.auditEvents(afterSeq: after, limit: 10_000)
            guard let last = batch.last else { break }
            for event in batch where event.seq <= lastSeq {
                let index = Int(event.seq - firstSeq)
                if index < 0 || MerkleTree.leafHash(eventHash: event.hash) != cache.leafHash(at: index) {
                    logger.error(
                        "The audit log changed behind the broker; its Merkle tree is built again from the database",
                        metadata: ["tandem.audit.seq": "\(event.seq)"]
                    )
                    rebuild(because: "event \(event.seq) changed")
                    _ = try await sync()
                    return true
                }
            }
            if last.seq >= lastSeq { break }
            after = last.seq
        }
        return false
    }

    /// The root of the first `size` leaves.
    func root(size: Int) -> MerkleTree.Hash {
        cache.root(size: size)
    }

    /// The chain hash leaf `seq` was built from is `hash`; and its inclusion proof in the
    /// tree of the first `size` leaves.
    func inclusionProof(seq: Int64, size: Int) -> [MerkleTree.Hash] {
        cache.inclusionProof(index: Int(seq - firstSeq), size: size)
    }

    func consistencyProof(from oldSize: Int, to size: Int) -> [MerkleTree.Hash] {
        cache.consistencyProof(oldSize: oldSize, size: size)
    }

    /// Whether leaf `seq` is the event whose chain hash is `hash`.
    func holds(seq: Int64, hash: String) -> Bool {
        let index = seq - firstSeq
        guard index >= 0, index < Int64(cache.count) else { return false }
        return MerkleTree.leafHash(eventHash: hash) == cache.leafHash(at: Int(index))
    }

    private func event(seq: Int64) async throws -> AuditEvent? {
        guard let event = try await store.auditEvents(afterSeq: seq - 1, limit: 1).first, event.seq == seq else { return nil }
        return event
    }

    private func rebuild(because reason: String) {
        logger.debug("Rebuilding the audit Merkle tree", metadata: ["tandem.audit.reason": "\(reason)"])
        cache = MerkleTreeCache()
        firstSeq = 1
        firstHash = ""
        lastHash = ""
    }

    private func extend() async throws {
        var after = cache.count == 0 ? 0 : lastSeq
        while true {
            let batch = try await store.auditEvents(afterSeq: after, limit: 10_000)
            guard let last = batch.last else { return }
            for event in batch {
                if cache.count > 0, event.seq != lastSeq + 1 {
                    let previous = lastSeq
                    rebuild(because: "gap")
                    throw Refusal(description: "the log has a gap after event \(previous); run tandem audit verify")
                }
                guard let leaf = MerkleTree.leafHash(eventHash: event.hash) else {
                    rebuild(because: "bad hash")
                    throw Refusal(description: "event \(event.seq) has no valid hash; run tandem audit verify")
                }
                if cache.count == 0 {
                    firstSeq = event.seq
                    firstHash = event.hash
                }
                cache.append(leafHash: leaf)
                lastHash = event.hash
            }
            after = last.seq
        }
    }

    /// The event at the last signed checkpoint must still have the checkpoint's hash, in the
    /// database and in the tree.
    private func checkLastCheckpoint() async throws {
        guard let checkpoint = try await store.checkpoints().last, cache.count > 0, checkpoint.seq >= firstSeq, checkpoint.seq <= lastSeq else {
            return
        }
        guard let event = try await event(seq: checkpoint.seq), event.hash == checkpoint.headHash else {
            throw Refusal(description: "the log no longer matches its signed checkpoint at event \(checkpoint.seq); run tandem audit verify")
        }
        if !holds(seq: checkpoint.seq, hash: checkpoint.headHash) {
            rebuild(because: "the tree disagrees with checkpoint \(checkpoint.id)")
            try await extend()
        }
    }
}
