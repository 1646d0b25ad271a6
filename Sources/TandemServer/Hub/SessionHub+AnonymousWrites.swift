import Logging
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What anonymous clients may add to the audit log (protocol/README.md §13.1): failed
/// resumes and queue entries are spent from per-network and broker-wide budgets
/// (``AnonymousWriteLimiter``); refusals are counted in the metrics, and only the start of a
/// refusal period is logged (`resume.throttled`, `queue.throttled`).
extension SessionHub {
    /// Spends one action of `path` for `network`. Nil when it may go ahead (and be logged);
    /// else the whole seconds to wait and the budget that ran out, after logging the start
    /// of the refusal period as `kind` (once per period).
    func spendAnonymousWrite(
        _ path: AnonymousWriteLimiter.Path,
        kind: AuditEventKind,
        address: ClientAddress,
        pool: AnonymousWriteLimiter.Pool = .anonymous,
        at now: Date
    ) async throws -> (retryAfter: Int, scope: AnonymousWriteLimiter.Scope)? {
        guard case .refuse(let wait, let scope, let started) = anonymousWrites.spend(path, network: address.network, pool: pool, now: limiterNow)
        else {
            return nil
        }
        let retryAfter = max(1, Int(wait.rounded(.up)))
        if started {
            var detail = ["scope": scope.rawValue, "seconds": String(retryAfter)]
            if scope == .broker { detail["pool"] = pool.rawValue } else if let ip = address.ip { detail["address"] = ip }
            logger.notice(
                "Anonymous audit writes throttled",
                metadata: [
                    "tandem.throttle.path": "\(path.rawValue)", "tandem.throttle.scope": "\(scope.rawValue)",
                    "tandem.throttle.seconds": "\(retryAfter)",
                ]
            )
            try await store.recordEvent(sessionID: nil, kind: kind, actor: "broker", detail: detail, at: now)
        }
        return (retryAfter, scope)
    }
}
