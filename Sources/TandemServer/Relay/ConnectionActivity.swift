import Atomics
import NIOCore

/// When anything last moved on a connection, either way (for the idle timeout).
final class ConnectionActivity: Sendable {
    private let start = ContinuousClock.now
    private let lastNanoseconds = ManagedAtomic<Int64>(0)

    /// Records activity now; returns the seconds since the connection opened (the time the
    /// rate guards take), so the reader reads the clock once per message.
    @discardableResult
    func touch() -> Double {
        let elapsed = ContinuousClock.now - start
        lastNanoseconds.store(TimeAmount(elapsed).nanoseconds, ordering: .relaxed)
        return elapsed.seconds
    }

    /// When something last moved (the opening, if nothing has).
    var lastActive: ContinuousClock.Instant {
        start + .nanoseconds(lastNanoseconds.load(ordering: .relaxed))
    }
}
