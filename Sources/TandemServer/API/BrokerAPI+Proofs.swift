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
    /// The tree as of the log now (§11.8); 409 when the broker signs no head over the log
    /// (a gap, an event without a valid hash, the event at the last signed checkpoint changed).
    func syncedTree() async throws -> (firstSeq: Int64, size: Int) {
        do {
            return try await tree.sync()
        } catch let refusal as AuditTree.Refusal {
            throw APIError.conflict(refusal.description)
        }
    }

    /// A signed head of the tree of the first `size` leaves, whose leaf 0 is event `firstSeq`.
    func treeHead(size: Int, firstSeq: Int64) async throws -> TreeHead {
        // Whole seconds: the time goes out as RFC 3339 without fractions, and is signed as it reads back.
        let at = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let head = TreeHead(firstSeq: firstSeq, size: size, rootHash: await tree.root(size: size).lowercaseHex, at: at)
        return try signingKey.signer.sign(head)
    }

    private func requireAuditor(_ request: Request) async throws {
        let user = try await authenticate(request)
        guard user.role.canReadAllSessions else { throw APIError.forbidden("only auditors and admins read the log's proofs") }
    }

    /// `GET /v1/audit/tree-head`: the signed head of the whole log now.
    func currentTreeHead(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try await requireAuditor(request)
        let log = try await syncedTree()
        return try json(try await treeHead(size: log.size, firstSeq: log.firstSeq))
    }

    /// `GET /v1/audit/proofs/inclusion?seq=N[&size=M]`: event `seq` in the tree of the first
    /// `size` events (the whole log when absent).
    func inclusionProof(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try await requireAuditor(request)
        let query = request.uri.queryParameters
        guard let seq = query.get("seq").flatMap({ Int64($0) }) else { throw APIError.badRequest("seq must be an event's number") }
        var log = try await syncedTree()
        let size =
            try query.get("size").map { text in
                guard let size = Int(text), size >= 1, size <= log.size else {
                    throw APIError.badRequest("size must be 1-\(log.size), the number of events of a tree head")
                }
                return size
            } ?? log.size
        let offset = seq - log.firstSeq
        guard offset >= 0, offset < Int64(log.size) else { throw APIError(.notFound, "no event \(seq) in the log") }
        let index = Int(offset)
        guard index < size else { throw APIError.badRequest("event \(seq) is not among the first \(size) events") }
        return try json(try await inclusionProof(seq: seq, size: size, log: &log))
    }

    /// `GET /v1/audit/proofs/consistency?from=M[&to=N]`: the tree of the first `from` events
    /// is a prefix of the tree of the first `to` (the whole log when absent).
    func consistencyProof(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try await requireAuditor(request)
        let query = request.uri.queryParameters
        let log = try await syncedTree()
        let to =
            try query.get("to").map { text in
                guard let to = Int(text), to >= 1, to <= log.size else { throw APIError.badRequest("to must be 1-\(log.size)") }
                return to
            } ?? log.size
        guard let from = query.get("from").flatMap({ Int($0) }), from >= 1, from <= to else {
            throw APIError.badRequest("from must be 1-\(to), the size of an older tree head")
        }
        let proof = ConsistencyProof(
            oldSize: from,
            oldRootHash: await tree.root(size: from).lowercaseHex,
            path: await tree.consistencyProof(from: from, to: to).map(\.lowercaseHex),
            treeHead: try await treeHead(size: to, firstSeq: log.firstSeq)
        )
        return try json(proof)
    }

    /// Event `seq`'s inclusion proof in the tree of the first `size` leaves. The event is
    /// read from the database; when the tree holds another hash for it (the log was changed
    /// behind the broker), the tree is checked against the whole log and built again first.
    func inclusionProof(seq: Int64, size: Int, log: inout (firstSeq: Int64, size: Int)) async throws -> InclusionProof {
        guard let event = try await store.auditEvents(afterSeq: seq - 1, limit: 1).first, event.seq == seq else {
            throw APIError(.notFound, "no event \(seq) in the log")
        }
        if await !tree.holds(seq: seq, hash: event.hash) {
            try await tree.revalidate()
            log = try await syncedTree()
            guard size <= log.size, await tree.holds(seq: seq, hash: event.hash) else {
                throw APIError.conflict("event \(seq) is not in the log's tree as it was; run tandem audit verify")
            }
        }
        return InclusionProof(
            seq: seq,
            leafIndex: Int(seq - log.firstSeq),
            eventHash: event.hash,
            path: await tree.inclusionProof(seq: seq, size: size).map(\.lowercaseHex),
            treeHead: try await treeHead(size: size, firstSeq: log.firstSeq)
        )
    }
}
