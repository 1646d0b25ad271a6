import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The hash chain of the audit log: how an event's hash is computed and how a sequence
/// of events is verified. Pure functions.
public enum AuditChain {
    /// The `previousHash` of the first event.
    public static let genesis = String(repeating: "0", count: 64)

    /// SHA-256 (hex) of the canonical form of the event's content and `previousHash`.
    ///
    /// Canonical form: the fields joined by newlines — seq, time in milliseconds since the
    /// epoch, session id, kind, actor, detail as `key=value` pairs sorted by key and joined
    /// by `&` with `%`, `&`, `=` and newlines percent-encoded, previous hash.
    public static func hash(
        seq: Int64,
        at: Date,
        sessionID: String?,
        kind: AuditEventKind,
        actor: String?,
        detail: [String: String],
        previousHash: String
    ) -> String {
        let pairs = detail.sorted { $0.key < $1.key }.map { escape($0.key) + "=" + escape($0.value) }.joined(separator: "&")
        let canonical = [String(seq), String(at.epochMilliseconds), sessionID ?? "", kind.rawValue, actor ?? "", pairs, previousHash].joined(
            separator: "\n"
        )
        return APIToken.sha256Hex(canonical)
    }

    public static func hash(of event: AuditEvent) -> String {
        hash(
            seq: event.seq,
            at: event.at,
            sessionID: event.sessionID,
            kind: event.kind,
            actor: event.actor,
            detail: event.detail,
            previousHash: event.previousHash
        )
    }

    /// Checks events in ascending `seq` order, starting after `previous` (seq and hash of the
    /// event before the first one, or nil to start at the genesis).
    public static func verify(_ events: [AuditEvent], after previous: (seq: Int64, hash: String)? = nil) -> AuditVerification {
        var expectedSeq = (previous?.seq ?? 0) + 1
        var expectedPrevious = previous?.hash ?? genesis
        for event in events {
            if event.seq != expectedSeq {
                let status: AuditVerification.Status = event.seq > expectedSeq ? .deleted : .inserted
                return AuditVerification(status: status, count: Int64(events.count), headHash: nil, firstBadSeq: expectedSeq)
            }
            if hash(of: event) != event.hash {
                return AuditVerification(status: .altered, count: Int64(events.count), headHash: nil, firstBadSeq: event.seq)
            }
            if event.previousHash != expectedPrevious {
                return AuditVerification(status: .inserted, count: Int64(events.count), headHash: nil, firstBadSeq: event.seq)
            }
            expectedSeq += 1
            expectedPrevious = event.hash
        }
        return AuditVerification(status: .intact, count: Int64(events.count), headHash: events.last?.hash ?? previous?.hash, firstBadSeq: nil)
    }

    private static func escape(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "%": result += "%25"
            case "&": result += "%26"
            case "=": result += "%3D"
            case "\n": result += "%0A"
            default: result.append(character)
            }
        }
        return result
    }
}
