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
/// instead of the whole log. Proofs cost O(log² n) hashes (``MerkleTreeCache``); the tree
/// costs about 64 bytes an event of memory.
///
/// Every event taken into the tree is checked as `tandem audit verify` checks it: its hash
/// is recomputed from its fields, it links to the event before it (the first one to the
/// genesis or the prune anchor), and seqs follow on; the event at the last signed
/// checkpoint must still have the checkpoint's hash. A log that fails any of this gets no
/// head (``Refusal``, 409).
///
/// The tree follows the database, never the other way round: when the log no longer starts
/// or ends where the tree does (a prune, a rollback), the tree is built again. A change in
/// the middle of the log is found by ``revalidate()``, which the checkpointer runs before it
/// signs a checkpoint's head (§11.10).
///
/// One operation at a time: syncs, rebuilds and the reads of a view are queued, so no
/// request ever sees a tree that another one is rebuilding.
actor AuditTree {
    /// Why no head is signed over the log now (the API answers 409).
    struct Refusal: Error, CustomStringConvertible {
        let description: String
    }

    /// The tree as of one sync, for a synchronous read: sizes, roots and proofs.
    struct View {
        /// The seq of leaf 0 (1 for an empty log).
        let firstSeq: Int64
        fileprivate let cache: MerkleTreeCache

        var size: Int { cache.count }

        func root(size: Int) -> MerkleTree.Hash { cache.root(size: size) }

        /// Whether leaf `seq` is the event whose chain hash is `hash`.
        func holds(seq: Int64, hash: String) -> Bool {
            guard seq >= firstSeq, seq - firstSeq < Int64(cache.count) else { return false }
            return MerkleTree.leafHash(eventHash: hash) == cache.leafHash(at: Int(seq - firstSeq))
        }

        /// The inclusion proof of event `seq` (held) in the tree of the first `size` leaves.
        func inclusionProof(seq: Int64, size: Int) -> [MerkleTree.Hash] {
            cache.inclusionProof(index: Int(seq - firstSeq), size: size)
        }

        func consistencyProof(from oldSize: Int, to size: Int) -> [MerkleTree.Hash] {
            cache.consistencyProof(oldSize: oldSize, size: size)
        }
    }

    private let store: any TandemStore
    private let logger: Logger
    private var cache = MerkleTreeCache()
    private var firstSeq: Int64 = 1
    private var firstHash = ""
    private var lastHash = ""
    private var queue: Task<Void, Never>?
    /// Counts rebuilds: a revalidation that sees it change stops.
    private var generation = 0

    init(store: any TandemStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    private var lastSeq: Int64 { firstSeq + Int64(cache.count) - 1 }

    /// Runs `operation` after every operation queued before it.
    private func serialized<T: Sendable>(_ operation: @escaping @Sendable (isolated AuditTree) async throws -> T) async throws -> T {
        let previous = queue
        let task = Task { () async throws -> T in
            await previous?.value
            return try await operation(self)
        }
        queue = Task { _ = try? await task.value }
        return try await task.value
    }

    /// Brings the tree up to the log now and reads it with `body`.
    func read<T: Sendable>(_ body: @escaping @Sendable (View) throws -> T) async throws -> T {
        try await serialized { tree in
            try await tree.sync()
            return try body(View(firstSeq: tree.cache.count == 0 ? 1 : tree.firstSeq, cache: tree.cache))
        }
    }

    /// Compares every leaf with the database (O(n) reads) and builds the tree again when the
    /// log was changed behind the broker (an event's hash, a removed or inserted row).
    /// Returns whether it had to. The database is read a batch at a time outside the queue,
    /// so heads and proofs are not held up behind the whole log.
    @discardableResult
    func revalidate() async throws -> Bool {
        // Up to date first: a prune or new events are taken in quietly, not seen as a change.
        let (generation, first, last) = try await serialized { tree in
            try await tree.sync()
            return (tree.generation, tree.firstSeq, tree.lastSeq)
        }
        var expected = first
        while expected <= last {
            let from = expected
            let batch = try await store.auditEvents(afterSeq: from - 1, limit: 10_000)
            let verdict = try await serialized { tree -> Verdict in
                // Built again meanwhile: that read and checked the whole log.
                guard tree.generation == generation else { return .stale }
                var next = from
                for event in batch {
                    if next > last { break }
                    guard event.seq == next, MerkleTree.leafHash(eventHash: event.hash) == tree.cache.leafHash(at: Int(next - first)) else {
                        return .changed(min(event.seq, next))
                    }
                    next += 1
                }
                // No progress: the events the tree holds from `from` on are not in the database.
                return next == from ? .changed(next) : .same(next)
            }
            switch verdict {
            case .stale:
                return false
            case .same(let next):
                expected = next
            case .changed(let seq):
                logger.error(
                    "The audit log changed behind the broker; its Merkle tree is built again from the database",
                    metadata: ["tandem.audit.seq": "\(seq)"]
                )
                try await serialized { tree in
                    tree.rebuild()
                    try await tree.sync()
                }
                return true
            }
        }
        return false
    }

    private enum Verdict: Sendable {
        case same(Int64)
        case changed(Int64)
        case stale
    }

    private func sync() async throws {
        // Read before the events: a checkpoint is committed after its event, so only a log
        // that lost events can end before the checkpoint read here.
        let checkpoint = try await store.checkpoints().last
        if cache.count > 0 {
            let first = try await event(seq: firstSeq)
            let last = try await event(seq: lastSeq)
            if first?.hash != firstHash || last?.hash != lastHash { rebuild() }
        }
        try await extend()
        try await check(checkpoint)
    }

    private func event(seq: Int64) async throws -> AuditEvent? {
        guard let event = try await store.auditEvents(afterSeq: seq - 1, limit: 1).first, event.seq == seq else { return nil }
        return event
    }

    private func rebuild() {
        generation += 1
        cache = MerkleTreeCache()
        firstSeq = 1
        firstHash = ""
        lastHash = ""
    }

    /// Refuses, and forgets the tree: the next request reads the log again.
    private func refuse(_ reason: String) -> Refusal {
        rebuild()
        return Refusal(description: reason + "; run tandem audit verify")
    }

    private func extend() async throws {
        var after = cache.count == 0 ? 0 : lastSeq
        while true {
            let batch = try await store.auditEvents(afterSeq: after, limit: 10_000)
            guard let last = batch.last else { return }
            for event in batch { try await append(event) }
            after = last.seq
        }
    }

    private func append(_ event: AuditEvent) async throws {
        if cache.count > 0 {
            guard event.seq == lastSeq + 1 else { throw refuse("the log has a gap after event \(lastSeq)") }
            guard event.previousHash == lastHash else { throw refuse("event \(event.seq) does not follow the event before it") }
        } else {
            // The first event links to the genesis, or to the last event a prune removed.
            let anchor = try await store.checkpoints().pruneAnchor ?? (seq: 0, hash: AuditChain.genesis)
            guard event.seq == anchor.seq + 1, event.previousHash == anchor.hash else {
                throw refuse("event \(event.seq) does not follow the start of the log (the genesis or the last prune)")
            }
        }
        guard AuditChain.hash(of: event) == event.hash, let leaf = MerkleTree.leafHash(eventHash: event.hash) else {
            throw refuse("event \(event.seq) does not match its hash")
        }
        if cache.count == 0 {
            firstSeq = event.seq
            firstHash = event.hash
        }
        cache.append(leafHash: leaf)
        lastHash = event.hash
    }

    /// The event at the last signed checkpoint must still be in the log with the
    /// checkpoint's hash, in the database and in the tree.
    private func check(_ checkpoint: AuditCheckpoint?) async throws {
        guard let checkpoint, checkpoint.seq > 0, checkpoint.seq >= firstSeq else { return }
        guard cache.count > 0, checkpoint.seq <= lastSeq else {
            throw refuse("the log ends before event \(checkpoint.seq), which checkpoint \(checkpoint.id) signed")
        }
        guard let event = try await event(seq: checkpoint.seq), event.hash == checkpoint.headHash else {
            throw refuse("the log no longer matches its signed checkpoint at event \(checkpoint.seq)")
        }
        if MerkleTree.leafHash(eventHash: checkpoint.headHash) != cache.leafHash(at: Int(checkpoint.seq - firstSeq)) {
            rebuild()
            try await extend()
        }
    }
}
