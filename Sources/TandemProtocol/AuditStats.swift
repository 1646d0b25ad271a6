#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Body of `GET /v1/audit/stats`: how support went over a period.
/// Definitions in [protocol/README.md § Statistics](../../protocol/README.md#114-statistics).
public struct AuditStats: Sendable, Equatable, Codable {
    public var since: Date?
    public var until: Date?
    public var sessions: Int
    /// Sessions still live (not counted in the rates).
    public var live: Int
    public var tickets: Int
    /// Sessions a customer joined.
    public var answered: Int
    /// Sessions that ended without a customer (the code expired, the agent gave up).
    public var unanswered: Int
    /// Tickets whose only session in the period ended `resolved`, over tickets with an ended session.
    public var firstContactResolutionRate: Double?
    /// Ended sessions that were transferred (§17) or ended `escalated`, over ended sessions
    /// that were transferred or have an outcome.
    public var escalationRate: Double?
    /// Sessions handed to another agent or line at least once, and all hand-overs.
    public var transferred: Int
    public var transfers: Int
    /// The queue (§16); nil when the period's events were not read (agents see their own sessions only).
    public var queue: QueueStats?
    /// Median seconds from the session's start to the customer joining.
    public var medianWaitSeconds: Double?
    /// Median seconds the customer was connected (join to end).
    public var medianHandleSeconds: Double?
    /// Sessions per outcome; `not-recorded` for ended sessions without one.
    public var outcomes: [String: Int]
    /// Sessions per end reason.
    public var endReasons: [String: Int]
    /// The customers' post-session surveys (§5.16); nil when the period's events were not read.
    public var survey: SurveyStats?

    public init(
        since: Date?,
        until: Date?,
        sessions: Int,
        live: Int,
        tickets: Int,
        answered: Int,
        unanswered: Int,
        firstContactResolutionRate: Double?,
        escalationRate: Double?,
        medianWaitSeconds: Double?,
        medianHandleSeconds: Double?,
        outcomes: [String: Int],
        endReasons: [String: Int],
        transferred: Int = 0,
        transfers: Int = 0,
        queue: QueueStats? = nil
    ) {
        self.transferred = transferred
        self.transfers = transfers
        self.queue = queue
        self.since = since
        self.until = until
        self.sessions = sessions
        self.live = live
        self.tickets = tickets
        self.answered = answered
        self.unanswered = unanswered
        self.firstContactResolutionRate = firstContactResolutionRate
        self.escalationRate = escalationRate
        self.medianWaitSeconds = medianWaitSeconds
        self.medianHandleSeconds = medianHandleSeconds
        self.outcomes = outcomes
        self.endReasons = endReasons
    }
}

extension AuditStats {
    /// The statistics of `sessions` (all sessions created in the period).
    /// The statistics of `sessions` (all sessions created in the period). `transfers` are the
    /// `session.transferred` events of those sessions; `queue` the period's queue statistics.
    public init(sessions records: [SessionRecord], since: Date?, until: Date?, transfers: [AuditEvent] = [], queue: QueueStats? = nil) {
        let ended = records.filter(\.isEnded)
        let ids = Set(records.map(\.id))
        let transferEvents = transfers.filter { $0.kind == .sessionTransferred && $0.sessionID.map(ids.contains) == true }
        let transferredIDs = Set(transferEvents.compactMap(\.sessionID))
        var outcomes: [String: Int] = [:]
        var reasons: [String: Int] = [:]
        for record in ended {
            outcomes[record.outcome?.rawValue ?? "not-recorded", default: 0] += 1
            reasons[record.endReason?.rawValue ?? "unknown", default: 0] += 1
        }
        let withOutcome = ended.filter { $0.outcome != nil || transferredIDs.contains($0.id) }
        let escalated = withOutcome.filter { $0.outcome == .escalated || transferredIDs.contains($0.id) }.count
        // First-contact resolution: per ticket with an ended session, was it one session that resolved it?
        let byTicket = Dictionary(grouping: records, by: \.ticket)
        let ticketsEnded = byTicket.values.filter { $0.contains(where: \.isEnded) }
        let resolvedFirst = ticketsEnded.filter { $0.count == 1 && $0[0].outcome == .resolved }.count
        let answered = records.filter { $0.customerJoinedAt != nil }
        self.init(
            since: since,
            until: until,
            sessions: records.count,
            live: records.count - ended.count,
            tickets: byTicket.count,
            answered: answered.count,
            unanswered: ended.filter { $0.customerJoinedAt == nil }.count,
            firstContactResolutionRate: ticketsEnded.isEmpty ? nil : Double(resolvedFirst) / Double(ticketsEnded.count),
            escalationRate: withOutcome.isEmpty ? nil : Double(escalated) / Double(withOutcome.count),
            medianWaitSeconds: Self.median(answered.compactMap(\.waitSeconds)),
            medianHandleSeconds: Self.median(ended.compactMap(\.connectedSeconds)),
            outcomes: outcomes,
            endReasons: reasons,
            transferred: transferredIDs.count,
            transfers: transferEvents.count,
            queue: queue
        )
    }

    /// The median (mean of the middle two for an even count), nil for none.
    public static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
