import NIOCore
import TandemProtocol

/// The audit log's Merkle proofs (protocol/README.md §11.8).
extension TandemAPIClient {
    /// The signed head of the whole log now.
    public func treeHead() async throws -> TreeHead {
        try await call(.GET, "/v1/audit/tree-head", as: TreeHead.self)
    }

    /// Event `seq` in the tree of the first `size` events (the whole log when nil).
    public func inclusionProof(seq: Int64, size: Int? = nil) async throws -> InclusionProof {
        try await call(.GET, "/v1/audit/proofs/inclusion?seq=\(seq)" + (size.map { "&size=\($0)" } ?? ""), as: InclusionProof.self)
    }

    /// The tree of the first `from` events against the tree of the first `to` (the whole log when nil).
    public func consistencyProof(from: Int, to: Int? = nil) async throws -> ConsistencyProof {
        try await call(.GET, "/v1/audit/proofs/consistency?from=\(from)" + (to.map { "&to=\($0)" } ?? ""), as: ConsistencyProof.self)
    }
}

extension TandemAPIClient {
    /// An ended session's evidence bundle (§11.9), the ZIP file's bytes.
    public func evidenceBundle(sessionID: String, includeRecording: Bool = true) async throws -> ByteBuffer {
        try await raw(.GET, "/v1/audit/sessions/\(Self.escape(sessionID))/bundle" + (includeRecording ? "" : "?recording=false"))
    }
}
