import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A log that is behind what the broker already signed (protocol/README.md §11.7): the
/// database was replaced by an older copy, its WAL was lost, or events were removed, so the
/// last signed checkpoint the broker keeps outside the database (`DATA/audit-head.json`)
/// covers events the log no longer has, or has with other content.
///
/// Pure: ``check(signed:headSeq:hashAtSignedSeq:prunedThrough:)`` compares the kept head
/// with what the log holds.
public struct AuditRollback: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// The log ends before the signed seq.
        case behind
        /// The log reaches the signed seq, but the event there is missing or has another
        /// hash: it was rolled back and written again.
        case rewritten
    }

    public var kind: Kind
    /// The checkpoint kept outside the database: what this broker signed last.
    public var signed: AuditCheckpoint
    /// The newest event of the log (0 for an empty log).
    public var headSeq: Int64
    /// The hash the log has at `signed.seq` (nil when that event is missing).
    public var hashAtSignedSeq: String?

    public init(kind: Kind, signed: AuditCheckpoint, headSeq: Int64, hashAtSignedSeq: String?) {
        self.kind = kind
        self.signed = signed
        self.headSeq = headSeq
        self.hashAtSignedSeq = hashAtSignedSeq
    }

    /// Nil when the log holds everything `signed` covers, unchanged.
    ///
    /// - Parameters:
    ///   - signed: the last checkpoint this broker signed (kept outside the database).
    ///   - headSeq: the log's newest event (or its prune anchor; 0 when empty).
    ///   - hashAtSignedSeq: the hash of the log's event `signed.seq`, nil when it has none.
    ///   - prunedThrough: the newest prune anchor of the log: events up to its seq were
    ///     removed by a signed prune (§11.6), so an older signed event is legitimately gone.
    public static func check(
        signed: AuditCheckpoint,
        headSeq: Int64,
        hashAtSignedSeq: String?,
        prunedThrough: (seq: Int64, hash: String)?
    ) -> AuditRollback? {
        // An empty log was signed: there is nothing to lose.
        guard signed.seq > 0 else { return nil }
        guard headSeq >= signed.seq else {
            return AuditRollback(kind: .behind, signed: signed, headSeq: headSeq, hashAtSignedSeq: nil)
        }
        var hash = hashAtSignedSeq
        if let anchor = prunedThrough {
            if signed.seq < anchor.seq { return nil }
            if signed.seq == anchor.seq { hash = anchor.hash }
        }
        guard hash == signed.headHash else {
            return AuditRollback(kind: .rewritten, signed: signed, headSeq: headSeq, hashAtSignedSeq: hash)
        }
        return nil
    }

    /// The first event the log lost or changed.
    public var firstBadSeq: Int64 {
        kind == .behind ? headSeq + 1 : signed.seq
    }

    /// One sentence naming both numbers.
    public var description: String {
        let signedText = "this broker signed the audit log up to event #\(signed.seq) (checkpoint #\(signed.id), \(signed.at.formatted(.iso8601)))"
        switch kind {
        case .behind:
            return "the audit log ends at event #\(headSeq), but \(signedText): "
                + "\(signed.seq - headSeq) signed events are gone (the database was replaced by an older copy, or its WAL was lost)"
        case .rewritten:
            let found = hashAtSignedSeq.map { "has hash \($0.prefix(12))…" } ?? "is missing"
            return "the audit log reaches event #\(headSeq), but \(signedText) with hash \(signed.headHash.prefix(12))… "
                + "and the log's event #\(signed.seq) \(found): the log was rolled back and written again"
        }
    }

    /// The `detail` of the `audit.rollback-accepted` event an operator's override appends.
    public var acceptedDetail: [String: String] {
        var detail = [
            "finding": kind.rawValue,
            "signedSeq": String(signed.seq),
            "signedHash": signed.headHash,
            "signedCheckpoint": String(signed.id),
            "signedAt": signed.at.formatted(.iso8601),
            "headSeq": String(headSeq),
        ]
        if let hashAtSignedSeq { detail["hashAtSignedSeq"] = hashAtSignedSeq }
        return detail
    }
}
