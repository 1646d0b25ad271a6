import CoreMetrics
import NIOCore
import Prometheus
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
    /// Customers and transferred sessions waiting for an agent (§16).
    let queueWaiting: CoreMetrics.Gauge
    let framesToAgent: CoreMetrics.Counter
    let framesToCustomer: CoreMetrics.Counter
    let bytesToAgent: CoreMetrics.Counter
    let bytesToCustomer: CoreMetrics.Counter
    let framesDropped: CoreMetrics.Counter
    let sessionsStarted: CoreMetrics.Counter
    let auditWrites: CoreMetrics.Timer
    private let joinFailures: [TandemCloseCodeKey: CoreMetrics.Counter]
    private let refusedUpgrades: [String: CoreMetrics.Counter]
    /// Failed resumes (§5.13) by `reason`: `refused` (checked and logged), `throttled` (§13.1).
    private let resumeFailures: [String: CoreMetrics.Counter]
    /// Queue entries refused (§16) by `reason`: `throttled`, `queue-limit`, `queue-full`, `help-link`.
    private let queueRefusals: [String: CoreMetrics.Counter]
    /// Sessions whose ending was logged, by end reason (§7).
    private let sessionsEnded: [EndReason: CoreMetrics.Counter]

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
        self.registry = registry
        sessionsWaiting = CoreMetrics.Gauge(label: "tandem_sessions", dimensions: [("state", "waiting")], factory: factory)
        sessionsLive = CoreMetrics.Gauge(label: "tandem_sessions", dimensions: [("state", "live")], factory: factory)
        sessionsAway = CoreMetrics.Gauge(label: "tandem_sessions", dimensions: [("state", "participant_away")], factory: factory)
        connections = CoreMetrics.Gauge(label: "tandem_connections", factory: factory)
        queueWaiting = CoreMetrics.Gauge(label: "tandem_queue_waiting", factory: factory)
        framesToAgent = CoreMetrics.Counter(label: "tandem_relayed_frames_total", dimensions: [("direction", "to_agent")], factory: factory)
        framesToCustomer = CoreMetrics.Counter(label: "tandem_relayed_frames_total", dimensions: [("direction", "to_customer")], factory: factory)
        bytesToAgent = CoreMetrics.Counter(label: "tandem_relayed_bytes_total", dimensions: [("direction", "to_agent")], factory: factory)
        bytesToCustomer = CoreMetrics.Counter(label: "tandem_relayed_bytes_total", dimensions: [("direction", "to_customer")], factory: factory)
        framesDropped = CoreMetrics.Counter(label: "tandem_frames_dropped_total", factory: factory)
        sessionsStarted = CoreMetrics.Counter(label: "tandem_sessions_started_total", factory: factory)
        auditWrites = CoreMetrics.Timer(label: "tandem_audit_write_seconds", factory: factory)
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

    /// Records how long an audit write transaction took (pass to the store's `onWrite`).
    public func auditWriteTook(_ elapsed: Duration) {
        auditWrites.recordNanoseconds(TimeAmount(elapsed).nanoseconds)
    }

    /// The Prometheus text exposition of every metric.
    public func exposition() -> String {
        registry.emitToString()
    }
}
