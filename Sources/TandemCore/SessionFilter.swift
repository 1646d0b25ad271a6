import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Which sessions an audit query returns, newest first.
public struct SessionFilter: Sendable, Equatable {
    public var ticket: String?
    public var agent: String?
    public var outcome: SessionOutcome?
    /// Sessions created at or after this time.
    public var since: Date?
    /// Sessions created before this time.
    public var until: Date?
    public var limit: Int

    public init(
        ticket: String? = nil,
        agent: String? = nil,
        outcome: SessionOutcome? = nil,
        since: Date? = nil,
        until: Date? = nil,
        limit: Int = 1000
    ) {
        self.ticket = ticket
        self.agent = agent
        self.outcome = outcome
        self.since = since
        self.until = until
        self.limit = limit
    }
}
