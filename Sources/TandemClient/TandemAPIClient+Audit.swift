import Foundation
import NIOCore
import TandemProtocol

/// The auditors' calls: statistics, export, checkpoints, the signing key, pruning.
extension TandemAPIClient {
    public func stats(_ query: AuditQuery) async throws -> AuditStats {
        try await call(.GET, "/v1/audit/stats" + query.queryString(), as: AuditStats.self)
    }

    /// `what` is `sessions` or `events`; `format` is `csv` or `jsonl`. Returns the exported text.
    public func export(what: String, format: String, query: AuditQuery) async throws -> ByteBuffer {
        try await raw(.GET, "/v1/audit/export" + query.queryString([("what", what), ("format", format)]))
    }

    public func checkpoints() async throws -> AuditCheckpointList {
        try await call(.GET, "/v1/audit/checkpoints", as: AuditCheckpointList.self)
    }

    public func auditPublicKey() async throws -> AuditPublicKey {
        try await call(.GET, "/v1/audit/public-key", as: AuditPublicKey.self)
    }

    public func prune(before: Date) async throws -> PruneResult {
        let body = try TandemJSON.makeEncoder().encode(PruneRequest(before: before))
        return try await call(.POST, "/v1/audit/prune", body: body, as: PruneResult.self)
    }
}
