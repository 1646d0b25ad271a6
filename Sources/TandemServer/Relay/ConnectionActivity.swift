import Atomics
import NIOCore

/// When anything last moved on a connection, either way (for the idle timeout).
final class ConnectionActivity: Sendable {
    private let start = ContinuousClock.now
    private let lastNanoseconds = ManagedAtomic<Int64>(0)

    /// Seconds since the connection opened.
    var seconds: Double { (ContinuousClock.now - start).seconds }

    func touch() {
        lastNanoseconds.store(TimeAmount(ContinuousClock.now - start).nanoseconds, ordering: .relaxed)
    }

    /// When something last moved (the opening, if nothing has).
    var lastActive: ContinuousClock.Instant {
        start + .nanoseconds(lastNanoseconds.load(ordering: .relaxed))
    }
}
