#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Which sessions an audit query returns, newest first.
public struct SessionFilter: Sendable, Equatable {
    public var ticket: String?
    public var agent: String?
    public var limit: Int

    public init(ticket: String? = nil, agent: String? = nil, limit: Int = 1000) {
        self.ticket = ticket
        self.agent = agent
        self.limit = limit
    }
}
