import TandemProtocol

extension TandemStore {
    /// Whether the log was rolled back behind `signed`, the last checkpoint this broker
    /// signed (kept outside the database, protocol/README.md §11.7). Nil when the log still
    /// holds event `signed.seq` with the signed hash (or a signed prune removed it).
    ///
    /// Reads one event in the usual case; only a log that was rolled back is read to its end
    /// (for the message's numbers).
    public func rollback(behind signed: AuditCheckpoint) async throws -> AuditRollback? {
        let anchor = try await checkpoints().pruneAnchor
        let first = try await auditEvents(afterSeq: max(signed.seq - 1, 0), limit: 1).first
        let hash = first?.seq == signed.seq ? first?.hash : nil
        // Any event at or after the signed seq means the log reaches it.
        let quickHead = max(first?.seq ?? 0, anchor?.seq ?? 0)
        guard AuditRollback.check(signed: signed, headSeq: quickHead, hashAtSignedSeq: hash, prunedThrough: anchor) != nil else {
            return nil
        }
        let head = max(try await lastSeq(after: first?.seq ?? 0), anchor?.seq ?? 0)
        return AuditRollback.check(signed: signed, headSeq: head, hashAtSignedSeq: hash, prunedThrough: anchor)
    }

    /// The newest event's seq, reading forward from `seq` in pages (`seq` when none follows).
    private func lastSeq(after seq: Int64) async throws -> Int64 {
        var cursor = seq
        while let last = try await auditEvents(afterSeq: cursor, limit: 1000).last {
            cursor = last.seq
        }
        return cursor
    }
}
