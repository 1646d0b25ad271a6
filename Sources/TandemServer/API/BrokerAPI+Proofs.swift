import Hummingbird
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The audit log as a Merkle tree (protocol/README.md §11.8): signed tree heads, inclusion
/// and consistency proofs, for auditors and admins.
extension BrokerAPI {
    /// The log's events in order, as leaf hashes, with their chain hashes and the seq of the
    /// first (the seqs follow on without a gap: leaf `i` is event `firstSeq + i`). Refuses
    /// (409) a log with a gap in its seqs, or whose event at the last signed checkpoint no
    /// longer has the checkpoint's hash: the broker signs no tree head over a log it knows
    /// was changed (`tandem audit verify` says how).
    func merkleLeaves() async throws -> (firstSeq: Int64, hashes: [String], leaves: [MerkleTree.Hash]) {
        var firstSeq: Int64?
        var lastSeq: Int64?
        var hashes: [String] = []
        var leaves: [MerkleTree.Hash] = []
        var after: Int64 = 0
        while true {
            let batch = try await store.auditEvents(afterSeq: after, limit: 10_000)
            guard let last = batch.last else { break }
            for event in batch {
                if let previous = lastSeq, event.seq != previous + 1 {
                    throw APIError.conflict("the log has a gap after event \(previous); run tandem audit verify")
                }
                guard let leaf = MerkleTree.leafHash(eventHash: event.hash) else {
                    throw APIError.conflict("event \(event.seq) has no valid hash; run tandem audit verify")
                }
                firstSeq = firstSeq ?? event.seq
                lastSeq = event.seq
                hashes.append(event.hash)
                leaves.append(leaf)
            }
            after = last.seq
        }
        if let checkpoint = try await store.checkpoints().last, let first = firstSeq, checkpoint.seq >= first {
            let index = Int(checkpoint.seq - first)
            guard index < hashes.count, hashes[index] == checkpoint.headHash else {
                throw APIError.conflict("the log no longer matches its signed checkpoint at event \(checkpoint.seq); run tandem audit verify")
            }
        }
        // An empty log: its first event will be seq 1.
        return (firstSeq ?? 1, hashes, leaves)
    }

    /// A signed head of the tree of the first `size` leaves, whose leaf 0 is event `firstSeq`.
    func treeHead(_ leaves: ArraySlice<MerkleTree.Hash>, firstSeq: Int64) throws -> TreeHead {
        // Whole seconds: the time goes out as RFC 3339 without fractions, and is signed as it reads back.
        let at = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let head = TreeHead(firstSeq: firstSeq, size: leaves.count, rootHash: MerkleTree.root(leaves).lowercaseHex, at: at)
        return try signingKey.signer.sign(head)
    }

    private func requireAuditor(_ request: Request) async throws {
        let user = try await authenticate(request)
        guard user.role.canReadAllSessions else { throw APIError.forbidden("only auditors and admins read the log's proofs") }
    }

    /// `GET /v1/audit/tree-head`: the signed head of the whole log now.
    func currentTreeHead(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try await requireAuditor(request)
        let log = try await merkleLeaves()
        return try json(try treeHead(log.leaves[...], firstSeq: log.firstSeq))
    }

    /// `GET /v1/audit/proofs/inclusion?seq=N[&size=M]`: event `seq` in the tree of the first
    /// `size` events (the whole log when absent).
    func inclusionProof(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try await requireAuditor(request)
        let query = request.uri.queryParameters
        guard let seq = query.get("seq").flatMap({ Int64($0) }) else { throw APIError.badRequest("seq must be an event's number") }
        let log = try await merkleLeaves()
        let size =
            try query.get("size").map { text in
                guard let size = Int(text), size >= 1, size <= log.leaves.count else {
                    throw APIError.badRequest("size must be 1-\(log.leaves.count), the number of events of a tree head")
                }
                return size
            } ?? log.leaves.count
        let offset = seq - log.firstSeq
        guard offset >= 0, offset < Int64(log.leaves.count) else { throw APIError(.notFound, "no event \(seq) in the log") }
        let index = Int(offset)
        guard index < size else { throw APIError.badRequest("event \(seq) is not among the first \(size) events") }
        let leaves = log.leaves[..<size]
        let proof = InclusionProof(
            seq: seq,
            leafIndex: index,
            eventHash: log.hashes[index],
            path: MerkleTree.inclusionProof(index: index, leaves).map(\.lowercaseHex),
            treeHead: try treeHead(leaves, firstSeq: log.firstSeq)
        )
        return try json(proof)
    }

    /// `GET /v1/audit/proofs/consistency?from=M[&to=N]`: the tree of the first `from` events
    /// is a prefix of the tree of the first `to` (the whole log when absent).
    func consistencyProof(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try await requireAuditor(request)
        let query = request.uri.queryParameters
        let log = try await merkleLeaves()
        let to =
            try query.get("to").map { text in
                guard let to = Int(text), to >= 1, to <= log.leaves.count else { throw APIError.badRequest("to must be 1-\(log.leaves.count)") }
                return to
            } ?? log.leaves.count
        guard let from = query.get("from").flatMap({ Int($0) }), from >= 1, from <= to else {
            throw APIError.badRequest("from must be 1-\(to), the size of an older tree head")
        }
        let leaves = log.leaves[..<to]
        let proof = ConsistencyProof(
            oldSize: from,
            oldRootHash: MerkleTree.root(log.leaves[..<from]).lowercaseHex,
            path: MerkleTree.consistencyProof(oldSize: from, leaves).map(\.lowercaseHex),
            treeHead: try treeHead(leaves, firstSeq: log.firstSeq)
        )
        return try json(proof)
    }
}
