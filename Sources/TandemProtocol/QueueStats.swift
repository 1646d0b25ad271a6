/// How fast the queue was answered over a period (part of `GET /v1/audit/stats`), from the
/// `queue.entered`, `queue.answered` and `queue.left` events.
/// Definitions in [protocol/README.md § Statistics](../../protocol/README.md#114-statistics).
public struct QueueStats: Sendable, Equatable, Codable {
    /// The answer-time target of ``shareAnsweredWithinTarget``.
    public static let targetSeconds = 20

    public struct Tier: Sendable, Equatable, Codable {
        public var answered: Int
        public var abandoned: Int
        public var answeredWithinTarget: Int
        public var shareAnsweredWithinTarget: Double?
        public var medianWaitSeconds: Double?
    }

    public var entered: Int
    public var answered: Int
    /// Left the queue before an agent took them (closed the page, broker shut down).
    public var abandoned: Int
    public var answeredWithinTarget: Int
    /// Left a callback request instead of waiting (§20.4): neither answered nor abandoned.
    public var callbacks: Int
    /// Answered within 20 s, over answered plus abandoned (customers still waiting are not counted).
    public var shareAnsweredWithinTarget: Double?
    /// Median seconds in the queue of answered customers.
    public var medianWaitSeconds: Double?
    public var byTier: [String: Tier]

    public init(events: [AuditEvent]) {
        var answeredWaits: [String: [Double]] = [:]
        var abandoned: [String: Int] = [:]
        var entered = 0
        var callbacks = 0
        for event in events {
            let tier = event.detail["tier"] ?? "unknown"
            let waited = event.detail["waitedMs"].flatMap(Double.init).map { $0 / 1000 }
            switch event.kind {
            case .queueEntered: entered += 1
            case .queueAnswered: answeredWaits[tier, default: []].append(waited ?? 0)
            case .queueLeft: abandoned[tier, default: 0] += 1
            case .queueCallback: callbacks += 1
            default: break
            }
        }
        func tierStats(_ waits: [Double], abandoned: Int) -> Tier {
            let within = waits.filter { $0 <= Double(Self.targetSeconds) }.count
            let decided = waits.count + abandoned
            return Tier(
                answered: waits.count,
                abandoned: abandoned,
                answeredWithinTarget: within,
                shareAnsweredWithinTarget: decided == 0 ? nil : Double(within) / Double(decided),
                medianWaitSeconds: AuditStats.median(waits)
            )
        }
        var byTier: [String: Tier] = [:]
        for tier in Set(answeredWaits.keys).union(abandoned.keys) {
            byTier[tier] = tierStats(answeredWaits[tier] ?? [], abandoned: abandoned[tier] ?? 0)
        }
        let all = tierStats(answeredWaits.values.flatMap { $0 }, abandoned: abandoned.values.reduce(0, +))
        self.entered = entered
        self.answered = all.answered
        self.abandoned = all.abandoned
        self.answeredWithinTarget = all.answeredWithinTarget
        self.callbacks = callbacks
        self.shareAnsweredWithinTarget = all.shareAnsweredWithinTarget
        self.medianWaitSeconds = all.medianWaitSeconds
        self.byTier = byTier
    }
}
