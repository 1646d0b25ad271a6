import Atomics
import NIOConcurrencyHelpers

/// Live counters of the relay, shared by every connection without locks.
///
/// Pass one to ``TandemBroker`` to read them (tests, and metrics in a later issue).
public final class BrokerStatistics: Sendable {
    private let queuedMediaBytesNow = ManagedAtomic<Int>(0)
    private let queuedMediaBytesMax = ManagedAtomic<Int>(0)
    private let framesDroppedTotal = ManagedAtomic<Int>(0)
    /// Reads the live sessions' overlay bytes; set by the running broker.
    private let overlaySource = NIOLockedValueBox<(@Sendable () async -> Int)?>(nil)
    /// The Prometheus metrics of `GET /metrics`.
    public let metrics: BrokerMetrics

    public init(metrics: BrokerMetrics = BrokerMetrics()) {
        self.metrics = metrics
    }

    /// Bytes of media frames waiting in all outboxes right now.
    public var queuedMediaBytes: Int { queuedMediaBytesNow.load(ordering: .relaxed) }
    /// The most media bytes that were ever queued at once.
    public var peakQueuedMediaBytes: Int { queuedMediaBytesMax.load(ordering: .relaxed) }
    /// Frames not delivered to slow receivers, in total.
    public var framesDropped: Int { framesDroppedTotal.load(ordering: .relaxed) }

    /// Budget bytes of the annotations every live session keeps now (protocol/README.md
    /// §5.10); 0 before the broker runs.
    public func overlayBytes() async -> Int {
        guard let source = overlaySource.withLockedValue({ $0 }) else { return 0 }
        return await source()
    }

    func readOverlayBytes(from source: @escaping @Sendable () async -> Int) {
        overlaySource.withLockedValue { $0 = source }
    }

    func mediaQueued(_ bytes: Int) {
        let now = queuedMediaBytesNow.wrappingIncrementThenLoad(by: bytes, ordering: .relaxed)
        var peak = queuedMediaBytesMax.load(ordering: .relaxed)
        while now > peak {
            let (exchanged, original) = queuedMediaBytesMax.compareExchange(expected: peak, desired: now, ordering: .relaxed)
            if exchanged { break }
            peak = original
        }
    }

    func mediaLeft(_ bytes: Int) {
        queuedMediaBytesNow.wrappingDecrement(by: bytes, ordering: .relaxed)
    }

    func dropped(_ frames: Int) {
        framesDroppedTotal.wrappingIncrement(by: frames, ordering: .relaxed)
        metrics.framesDropped.increment(by: frames)
    }
}
