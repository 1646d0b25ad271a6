#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Today's figures on the floor (`floor.state.today`, protocol/README.md §20.6), for the UTC
/// day, computed from the audit log's events of the day.
public struct FloorDay: Sendable, Equatable, Codable {
    public struct Hour: Sendable, Equatable, Codable {
        public var answered: Int
        public var withinTarget: Int

        public init(answered: Int = 0, withinTarget: Int = 0) {
            self.answered = answered
            self.withinTarget = withinTarget
        }
    }

    /// Upper bounds (seconds) of the wait buckets; the last bucket is everything above 120 s.
    public static let waitBuckets = [10, 20, 30, 60, 120]

    public var answered: Int
    public var answeredWithinTarget: Int
    public var abandoned: Int
    public var callbacks: Int
    public var serviceLevel: Double?
    public var medianWaitSeconds: Double?
    public var surveys: Int
    public var csat: Double?
    public var fcr: Double?
    public var outcomes: [String: Int]
    /// 24 entries, hour 0 … 23 (UTC).
    public var byHour: [Hour]
    /// Counts of answered waits per bucket of ``waitBuckets`` (6 entries).
    public var waits: [Int]

    public init(
        answered: Int = 0,
        answeredWithinTarget: Int = 0,
        abandoned: Int = 0,
        callbacks: Int = 0,
        serviceLevel: Double? = nil,
        medianWaitSeconds: Double? = nil,
        surveys: Int = 0,
        csat: Double? = nil,
        fcr: Double? = nil,
        outcomes: [String: Int] = [:],
        byHour: [Hour] = Array(repeating: Hour(), count: 24),
        waits: [Int] = Array(repeating: 0, count: FloorDay.waitBuckets.count + 1)
    ) {
        self.answered = answered
        self.answeredWithinTarget = answeredWithinTarget
        self.abandoned = abandoned
        self.callbacks = callbacks
        self.serviceLevel = serviceLevel
        self.medianWaitSeconds = medianWaitSeconds
        self.surveys = surveys
        self.csat = csat
        self.fcr = fcr
        self.outcomes = outcomes
        self.byHour = byHour
        self.waits = waits
    }
}
