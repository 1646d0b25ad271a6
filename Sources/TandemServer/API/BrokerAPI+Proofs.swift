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
    /// Reads the tree as of the log now (§11.8); 409 when the broker signs no head over the
    /// log (a gap, an event that does not match its hash or does not follow the one before,
    /// the event at the last signed checkpoint changed or gone).
    func withTree<T: Sendable>(_ body: @escaping @Sendable (AuditTree.View) throws -> T) async throws -> T {
        do {
            return try await tree.read(body)
        } catch let refusal as AuditTree.Refusal {
            throw APIError.conflict(refusal.description)
        }
    }

    /// The unsigned head of the first `size` leaves of `view`, at a whole second (the time
    /// goes out as RFC 3339 without fractions, and is signed as it reads back).
    static func head(_ view: AuditTree.View, size: Int) -> TreeHead {
        let at = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        return TreeHead(firstSeq: view.firstSeq, size: size, rootHash: view.root(size: size).lowercaseHex, at: at)
    }

    private func requireAuditor(_ request: Request) async throws {
        let user = try await authenticate(request)
        guard user.role.canReadAllSessions else { throw APIError.forbidden("only auditors and admins read the log's proofs") }
    }

    /// `GET /v1/audit/tree-head`: the signed head of the whole log now.
    func currentTreeHead(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try await requireAuditor(request)
        let head = try await withTree { Self.head($0, size: $0.size) }
        return try json(try signingKey.signer.sign(head))
    }

    /// `GET /v1/audit/proofs/inclusion?seq=N[&size=M]`: event `seq` in the tree of the first
    /// `size` events (the whole log when absent). The event is read from the database; when
    /// the tree holds another hash for it (the log was changed behind the broker), the tree
    /// is checked against the whole log and built again first.
    func inclusionProof(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try await requireAuditor(request)
        let query = request.uri.queryParameters
        guard let seq = query.get("seq").flatMap({ Int64($0) }), seq >= 1 else { throw APIError.badRequest("seq must be an event's number") }
        let size = try query.get("size").map { text in
            guard let size = Int(text), size >= 1 else { throw APIError.badRequest("size must be the number of events of a tree head") }
            return size
        }
        guard let event = try await store.auditEvents(afterSeq: seq - 1, limit: 1).first, event.seq == seq else {
            throw APIError(.notFound, "no event \(seq) in the log")
        }
        for attempt in 0..<2 {
            let proof = try await withTree { view -> Result<InclusionProof, APIError> in
                let size = size ?? view.size
                guard size <= view.size else {
                    return .failure(APIError.badRequest("size must be 1-\(view.size), the number of events of a tree head"))
                }
                guard view.holds(seq: seq, hash: event.hash) else { return .failure(APIError.conflict("event \(seq) is not in the log's tree")) }
                guard seq - view.firstSeq < Int64(size) else {
                    return .failure(APIError.badRequest("event \(seq) is not among the first \(size) events"))
                }
                return .success(
                    InclusionProof(
                        seq: seq,
                        leafIndex: Int(seq - view.firstSeq),
                        eventHash: event.hash,
                        path: view.inclusionProof(seq: seq, size: size).map(\.lowercaseHex),
                        treeHead: Self.head(view, size: size)
                    )
                )
            }
            switch proof {
            case .success(var proof):
                proof.treeHead = try signingKey.signer.sign(proof.treeHead)
                return try json(proof)
            case .failure(let error) where error.status == .conflict && attempt == 0:
                // The database has another event than the tree: check the whole log once.
                do {
                    try await tree.revalidate()
                } catch let refusal as AuditTree.Refusal {
                    throw APIError.conflict(refusal.description)
                }
            case .failure(let error):
                throw error
            }
        }
        throw APIError.conflict("event \(seq) is not in the log's tree as it was; run tandem audit verify")
    }

    /// `GET /v1/audit/proofs/consistency?from=M[&to=N]`: the tree of the first `from` events
    /// is a prefix of the tree of the first `to` (the whole log when absent).
    func consistencyProof(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try await requireAuditor(request)
        let query = request.uri.queryParameters
        let to = try query.get("to").map { text in
            guard let to = Int(text), to >= 1 else { throw APIError.badRequest("to must be the size of a tree head") }
            return to
        }
        let fromText = query.get("from")
        var proof = try await withTree { view -> Result<ConsistencyProof, APIError> in
            let to = to ?? view.size
            guard to >= 1, to <= view.size else { return .failure(APIError.badRequest("to must be 1-\(view.size)")) }
            guard let from = fromText.flatMap({ Int($0) }), from >= 1, from <= to else {
                return .failure(APIError.badRequest("from must be 1-\(to), the size of an older tree head"))
            }
            return .success(
                ConsistencyProof(
                    oldSize: from,
                    oldRootHash: view.root(size: from).lowercaseHex,
                    path: view.consistencyProof(from: from, to: to).map(\.lowercaseHex),
                    treeHead: Self.head(view, size: to)
                )
            )
        }.get()
        proof.treeHead = try signingKey.signer.sign(proof.treeHead)
        return try json(proof)
    }
}
