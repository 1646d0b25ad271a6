import Foundation
import TandemProtocol

/// Which sessions an audit call is about. Dates are `2026-11-22` or RFC 3339 times.
public struct AuditQuery: Sendable, Equatable {
    public var ticket: String?
    public var agent: String?
    public var outcome: SessionOutcome?
    public var since: String?
    public var until: String?
    public var limit: Int?

    public init(
        ticket: String? = nil,
        agent: String? = nil,
        outcome: SessionOutcome? = nil,
        since: String? = nil,
        until: String? = nil,
        limit: Int? = nil
    ) {
        self.ticket = ticket
        self.agent = agent
        self.outcome = outcome
        self.since = since
        self.until = until
        self.limit = limit
    }

    /// `?ticket=...&...` (empty when nothing is set), with `extra` pairs first.
    func queryString(_ extra: [(String, String)] = []) -> String {
        var pairs = extra
        if let ticket { pairs.append(("ticket", ticket)) }
        if let agent { pairs.append(("agent", agent)) }
        if let outcome { pairs.append(("outcome", outcome.rawValue)) }
        if let since { pairs.append(("since", since)) }
        if let until { pairs.append(("until", until)) }
        if let limit { pairs.append(("limit", String(limit))) }
        return pairs.isEmpty ? "" : "?" + pairs.map { "\($0.0)=\(TandemAPIClient.escape($0.1))" }.joined(separator: "&")
    }
}
