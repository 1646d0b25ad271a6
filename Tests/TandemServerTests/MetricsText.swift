import Foundation

/// The Prometheus text of a live broker's `GET /metrics`, read series by series.
struct MetricsText: Sendable {
    let text: String

    /// The buckets of `tandem_queue_wait_seconds`, in seconds (BrokerMetrics).
    static let queueWaitBuckets = [1, 2, 5, 10, 15, 20, 30, 60, 120, 300]

    /// The value of `series`, written exactly as exported (name and labels); nil when absent.
    func value(_ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    /// Fetches `/metrics` once.
    static func fetch(_ broker: LiveBroker) async throws -> MetricsText {
        MetricsText(text: try await LimitsTests().get(broker, "/metrics"))
    }

    /// Fetches `/metrics` until `condition` holds (at most 20 s) and returns that text; the
    /// last text when it never held (the caller's expectations then say what is wrong).
    static func poll(_ broker: LiveBroker, until condition: (MetricsText) -> Bool) async throws -> MetricsText {
        let start = ContinuousClock.now
        var metrics = try await fetch(broker)
        while !condition(metrics), ContinuousClock.now - start < .seconds(20) {
            try await Task.sleep(for: .milliseconds(100))
            metrics = try await fetch(broker)
        }
        return metrics
    }

    /// The `le` label of the smallest `tandem_queue_wait_seconds` bucket that holds a wait of
    /// `milliseconds`, as swift-prometheus writes a Duration ("20.0"), and the one below it.
    static func queueWaitBucket(milliseconds: Int) -> (holding: String, below: String?) {
        guard let index = queueWaitBuckets.firstIndex(where: { milliseconds <= $0 * 1000 }) else {
            return ("+Inf", "\(queueWaitBuckets[queueWaitBuckets.count - 1]).0")
        }
        return ("\(queueWaitBuckets[index]).0", index == 0 ? nil : "\(queueWaitBuckets[index - 1]).0")
    }

    /// What is wrong with the histogram of `kind` ("customer" or "transfer"), which should
    /// hold one wait of `milliseconds`, in its bucket and not in the one below; empty when right.
    func queueWaitProblems(kind: String, milliseconds: Int) -> [String] {
        var problems: [String] = []
        let series = "tandem_queue_wait_seconds"
        if value(#"\#(series)_count{kind="\#(kind)"}"#) != 1 { problems.append("\(series)_count{kind=\"\(kind)\"} is not 1") }
        let bucket = Self.queueWaitBucket(milliseconds: milliseconds)
        if value(#"\#(series)_bucket{kind="\#(kind)",le="\#(bucket.holding)"}"#) != 1 {
            problems.append("the \(bucket.holding) s bucket does not hold the wait of \(milliseconds) ms")
        }
        if let below = bucket.below, value(#"\#(series)_bucket{kind="\#(kind)",le="\#(below)"}"#) != 0 {
            problems.append("the \(below) s bucket holds the wait of \(milliseconds) ms")
        }
        return problems
    }
}
