import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How and when a session ended, as written to the log.
public struct SessionEnding: Sendable, Equatable {
    public var endedAt: Date
    public var reason: EndReason
    public var outcome: SessionOutcome?
    public var note: String?
    public var traffic: SessionTraffic

    public init(endedAt: Date, reason: EndReason, outcome: SessionOutcome?, note: String?, traffic: SessionTraffic) {
        self.endedAt = endedAt
        self.reason = reason
        self.outcome = outcome
        self.note = note
        self.traffic = traffic
    }
}
