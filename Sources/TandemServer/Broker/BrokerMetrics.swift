import CoreMetrics
import NIOConcurrencyHelpers
import NIOCore
import Prometheus
import TandemCore
import TandemProtocol

/// The broker's Prometheus metrics (`GET /metrics`), through swift-metrics with a
/// registry of its own (several brokers in one process, as in tests, do not mix).
/// Labels never carry tickets, names, codes or addresses.
public final class BrokerMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let sessionsWaiting: CoreMetrics.Gauge
    let sessionsLive: CoreMetrics.Gauge
    let sessionsAway: CoreMetrics.Gauge
    let connections: CoreMetrics.Gauge
    /// Customers and transferred sessions waiting for an agent (§16), and by tier.
    let queueWaiting: CoreMetrics.Gauge
    private let queueWaitingByTier: [SupportTier: CoreMetrics.Gauge]
    let framesToAgent: CoreMetrics.Counter
    let framesToCustomer: CoreMetrics.Counter
    let bytesToAgent: CoreMetrics.Counter
    let bytesToCustomer: CoreMetrics.Counter
    let framesDropped: CoreMetrics.Counter
    let sessionsStarted: CoreMetrics.Counter
    let auditWrites: CoreMetrics.Timer
    /// Audit (store) writes that failed and were rolled back (refusals such as "not found" are not counted).
    let auditWriteErrors: CoreMetrics.Counter
    /// How long a queued customer, or a transferred session, waited until an agent took it (§16, §17).
    private let queueWaitCustomer: CoreMetrics.Timer
    private let queueWaitTransfer: CoreMetrics.Timer
    /// Webhook POSTs (§15) answered 2xx, and those that failed (refused, unreachable, timed out).
    let webhooksDelivered: CoreMetrics.Counter
    let webhooksFailed: CoreMetrics.Counter
    /// Webhook events not yet delivered, summed over the targets, as of each delivery attempt.
    let webhookLag: CoreMetrics.Gauge
    /// Bytes written to recording files (§19).
    let recordingBytes: CoreMetrics.Counter
    /// Recording entries (frames and control messages) lost to the recorder's full queue.
    let recordingDropped: CoreMetrics.Counter
    private let joinFailures: [TandemCloseCodeKey: CoreMetrics.Counter]
    private let refusedUpgrades: [String: CoreMetrics.Counter]
    /// Failed resumes (§5.13) by `reason`: `refused` (checked and logged), `throttled` (§13.1).
    private let resumeFailures: [String: CoreMetrics.Counter]
    /// Queue entries refused (§16) by `reason`: `throttled`, `queue-limit`, `queue-full`, `help-link`.
    private let queueRefusals: [String: CoreMetrics.Counter]
    /// Sessions whose ending was logged, by end reason (§7).
    private let sessionsEnded: [EndReason: CoreMetrics.Counter]
    /// Post-session survey answers (§5.16) by `solved` (yes, no) and by score (1–5).
    private let surveysBySolved: [Bool: CoreMetrics.Counter]
    private let surveysByScore: [Int: CoreMetrics.Counter]
    /// Agents by the state others see (§20.1).
    private let agentsByState: [AgentState: CoreMetrics.Gauge]
    /// Offers (§20.2) by `result`: `made`, `declined`, `timeout`, `agent-offline`; and the
    /// time from entering the queue to the first offer.
    private let offers: [String: CoreMetrics.Counter]
    private let offerLatency: CoreMetrics.Timer
    private let overflows: CoreMetrics.Counter
    private let callbacks: CoreMetrics.Counter
    /// Customers answered within the target, answered later, or abandoned (§16): the service
    /// level is the first over the sum.
    private let decided: [String: CoreMetrics.Counter]
    /// Waiting entries per line and tier, for the lines agents answer (others as `other`).
    private let factory: PrometheusMetricsFactory
    private let lineGauges = NIOLockedValueBox([String: CoreMetrics.Gauge]())

    /// Join refusals by close code, as label values.
    enum TandemCloseCodeKey: String, CaseIterable {
        case unknownCode = "unknown-code"
        case codeUsed = "code-used"
        case codeExpired = "code-expired"
        case resumeRefused = "resume-refused"
        case throttled = "throttled"
    }

    public init() {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["tandem_audit_write_seconds"] = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
        ]
        // Around the support target "80 % answered within 20 s".
        factory.durationHistogramBuckets["tandem_queue_wait_seconds"] = [1, 2, 5, 10, 15, 20, 30, 60, 120, 300].map { Duration.seconds($0) }
        factory.durationHistogramBuckets["tandem_queue_offer_latency_seconds"] = [
            .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(20), .seconds(60),
        ]
        self.factory = factory
        self.registry = registry
        sessionsWaiting = CoreMetrics.Gauge(label: "tandem_sessions", dimensions: [("state", "waiting")], factory: factory)
        sessionsLive = CoreMetrics.Gauge(label: "tandem_sessions", dimensions: [("state", "live")], factory: factory)
        sessionsAway = CoreMetrics.Gauge(label: "tandem_sessions", dimensions: [("state", "participant_away")], factory: factory)
        connections = CoreMetrics.Gauge(label: "tandem_connections", factory: factory)
        queueWaiting = CoreMetrics.Gauge(label: "tandem_queue_waiting", factory: factory)
        queueWaitingByTier = Dictionary(
            uniqueKeysWithValues: SupportTier.allCases.map {
                ($0, CoreMetrics.Gauge(label: "tandem_queue_waiting_by_tier", dimensions: [("tier", $0.rawValue)], factory: factory))
            }
        )
        framesToAgent = CoreMetrics.Counter(label: "tandem_relayed_frames_total", dimensions: [("direction", "to_agent")], factory: factory)
        framesToCustomer = CoreMetrics.Counter(label: "tandem_relayed_frames_total", dimensions: [("direction", "to_customer")], factory: factory)
        bytesToAgent = CoreMetrics.Counter(label: "tandem_relayed_bytes_total", dimensions: [("direction", "to_agent")], factory: factory)
        bytesToCustomer = CoreMetrics.Counter(label: "tandem_relayed_bytes_total", dimensions: [("direction", "to_customer")], factory: factory)
        framesDropped = CoreMetrics.Counter(label: "tandem_frames_dropped_total", factory: factory)
        sessionsStarted = CoreMetrics.Counter(label: "tandem_sessions_started_total", factory: factory)
        auditWrites = CoreMetrics.Timer(label: "tandem_audit_write_seconds", factory: factory)
        auditWriteErrors = CoreMetrics.Counter(label: "tandem_audit_write_errors_total", factory: factory)
        queueWaitCustomer = CoreMetrics.Timer(label: "tandem_queue_wait_seconds", dimensions: [("kind", "customer")], factory: factory)
        queueWaitTransfer = CoreMetrics.Timer(label: "tandem_queue_wait_seconds", dimensions: [("kind", "transfer")], factory: factory)
        webhooksDelivered = CoreMetrics.Counter(label: "tandem_webhook_deliveries_total", dimensions: [("result", "delivered")], factory: factory)
        webhooksFailed = CoreMetrics.Counter(label: "tandem_webhook_deliveries_total", dimensions: [("result", "failed")], factory: factory)
        webhookLag = CoreMetrics.Gauge(label: "tandem_webhook_lag_events", factory: factory)
        recordingBytes = CoreMetrics.Counter(label: "tandem_recording_bytes_total", factory: factory)
        recordingDropped = CoreMetrics.Counter(label: "tandem_recording_frames_dropped_total", factory: factory)
        joinFailures = Dictionary(
            uniqueKeysWithValues: TandemCloseCodeKey.allCases.map {
                ($0, CoreMetrics.Counter(label: "tandem_join_failures_total", dimensions: [("reason", $0.rawValue)], factory: factory))
            }
        )
        refusedUpgrades = Dictionary(
            uniqueKeysWithValues: ["forbidden-origin", "too-many-connections", "too-many-http-connections", "too-many-agent-connections"].map {
                ($0, CoreMetrics.Counter(label: "tandem_upgrades_refused_total", dimensions: [("reason", $0)], factory: factory))
            }
        )
        agentsByState = Dictionary(
            uniqueKeysWithValues: AgentState.allCases.map {
                ($0, CoreMetrics.Gauge(label: "tandem_agents", dimensions: [("state", $0.rawValue)], factory: factory))
            }
        )
        offers = Dictionary(
            uniqueKeysWithValues: ["made", "declined", "timeout", "agent-offline"].map {
                ($0, CoreMetrics.Counter(label: "tandem_queue_offers_total", dimensions: [("result", $0)], factory: factory))
            }
        )
        offerLatency = CoreMetrics.Timer(label: "tandem_queue_offer_latency_seconds", factory: factory)
        overflows = CoreMetrics.Counter(label: "tandem_queue_overflows_total", factory: factory)
        callbacks = CoreMetrics.Counter(label: "tandem_queue_callbacks_total", factory: factory)
        decided = Dictionary(
            uniqueKeysWithValues: ["answered-within-target", "answered-late", "abandoned"].map {
                ($0, CoreMetrics.Counter(label: "tandem_queue_decided_total", dimensions: [("result", $0)], factory: factory))
            }
        )
        resumeFailures = Dictionary(
            uniqueKeysWithValues: ["refused", "throttled"].map {
                ($0, CoreMetrics.Counter(label: "tandem_resume_failures_total", dimensions: [("reason", $0)], factory: factory))
            }
        )
        queueRefusals = Dictionary(
            uniqueKeysWithValues: ["throttled", "queue-limit", "queue-full", "help-link"].map {
                ($0, CoreMetrics.Counter(label: "tandem_queue_refusals_total", dimensions: [("reason", $0)], factory: factory))
            }
        )
        sessionsEnded = Dictionary(
            uniqueKeysWithValues: EndReason.allCases.map {
                ($0, CoreMetrics.Counter(label: "tandem_sessions_ended_total", dimensions: [("reason", $0.rawValue)], factory: factory))
            }
        )
        surveysBySolved = Dictionary(
            uniqueKeysWithValues: [true, false].map {
                ($0, CoreMetrics.Counter(label: "tandem_survey_responses_total", dimensions: [("solved", $0 ? "yes" : "no")], factory: factory))
            }
        )
        surveysByScore = Dictionary(
            uniqueKeysWithValues: (1...5).map {
                ($0, CoreMetrics.Counter(label: "tandem_survey_scores_total", dimensions: [("score", String($0))], factory: factory))
            }
        )
    }

    /// The queue's entries now, per tier (lines are not labels: their names come from customers).
    func queueWaiting(byTier counts: [SupportTier: Int]) {
        for (tier, gauge) in queueWaitingByTier { gauge.record(counts[tier] ?? 0) }
    }

    /// Agents by state now (§20.1).
    func agents(byState counts: [AgentState: Int]) {
        for (state, gauge) in agentsByState { gauge.record(counts[state] ?? 0) }
    }

    /// Waiting entries by line and tier now. Only `known` lines (those agents answer, and
    /// overflow targets, at most 64) are labels; the rest count as `other`, since customers
    /// name lines and labels must stay few.
    func queueWaiting(byLine entries: [SupportQueue.Entry], known: Set<String>) {
        var counts: [String: Int] = [:]
        for entry in entries {
            let line = known.contains(entry.line) ? entry.line : "other"
            counts[line + "/" + entry.tier.rawValue, default: 0] += 1
        }
        lineGauges.withLockedValue { gauges in
            for line in known.union(["other"]).sorted().prefix(65) {
                for tier in SupportTier.allCases where gauges[line + "/" + tier.rawValue] == nil {
                    gauges[line + "/" + tier.rawValue] = CoreMetrics.Gauge(
                        label: "tandem_queue_waiting_by_line",
                        dimensions: [("line", line), ("tier", tier.rawValue)],
                        factory: factory
                    )
                }
            }
            for (key, gauge) in gauges { gauge.record(counts[key] ?? 0) }
        }
    }

    /// An offer went out `latency` after its entry entered the queue.
    func offerMade(latency: Duration) {
        offers["made"]?.increment()
        offerLatency.recordNanoseconds(TimeAmount(max(latency, .zero)).nanoseconds)
    }

    /// An offer ended without a take: `declined`, `timeout` or `agent-offline`.
    func offerRefused(_ reason: String) {
        offers[reason]?.increment()
    }

    func queueOverflowed() { overflows.increment() }

    func callbackRequested() { callbacks.increment() }

    /// A customer's wait ended: answered after `waited` (nil: abandoned), against `target`.
    func customerDecided(waited: Duration?, target: Duration) {
        guard let waited else {
            decided["abandoned"]?.increment()
            return
        }
        decided[waited <= target ? "answered-within-target" : "answered-late"]?.increment()
    }

    /// A post-session survey answer was logged (§5.16).
    func surveyAnswered(_ answer: SurveyAnswer) {
        surveysBySolved[answer.solved]?.increment()
        surveysByScore[answer.score]?.increment()
    }

    func sessionEnded(_ reason: EndReason) {
        sessionsEnded[reason]?.increment()
    }

    func joinFailed(_ key: TandemCloseCodeKey) {
        joinFailures[key]?.increment()
    }

    func upgradeRefused(_ reason: String) {
        refusedUpgrades[reason]?.increment()
    }

    func resumeFailed(_ reason: String) {
        resumeFailures[reason]?.increment()
    }

    func queueRefused(_ reason: String) {
        queueRefusals[reason]?.increment()
    }

    func relayed(from role: String, bytes: Int) {
        if role == "customer" {
            framesToAgent.increment()
            bytesToAgent.increment(by: bytes)
        } else {
            framesToCustomer.increment()
            bytesToCustomer.increment(by: bytes)
        }
    }

    /// Records how an audit write transaction ended (pass to the store's `onWrite`): the time
    /// of a committed one, or one more failed write.
    public func auditWriteTook(_ elapsed: Duration, _ result: StoreWriteResult = .committed) {
        switch result {
        case .committed: auditWrites.recordNanoseconds(TimeAmount(elapsed).nanoseconds)
        case .failed: auditWriteErrors.increment()
        }
    }

    /// An agent took a queue entry of `kind` after it waited `waited`.
    func queueAnswered(_ kind: SupportQueue.Entry.Kind, waited: Duration) {
        let nanoseconds = TimeAmount(max(waited, .zero)).nanoseconds
        switch kind {
        case .customer: queueWaitCustomer.recordNanoseconds(nanoseconds)
        case .transfer: queueWaitTransfer.recordNanoseconds(nanoseconds)
        }
    }

    /// One webhook POST ended: answered 2xx (`delivered`) or not.
    func webhookPosted(delivered: Bool) {
        if delivered { webhooksDelivered.increment() } else { webhooksFailed.increment() }
    }

    /// The Prometheus text exposition of every metric.
    public func exposition() -> String {
        registry.emitToString()
    }
}
