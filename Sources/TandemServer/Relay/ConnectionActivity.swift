import Atomics
import NIOCore

/// When a connection last moved a message, either way; read without locks.
final class ConnectionActivity: Sendable {
    private let start = ContinuousClock.now
    private let lastNanoseconds = ManagedAtomic<Int64>(0)

    /// Seconds since the connection opened.
    var seconds: Double { (ContinuousClock.now - start).seconds }

    func touch() {
        lastNanoseconds.store(TimeAmount(ContinuousClock.now - start).nanoseconds, ordering: .relaxed)
    }

    func idle(for timeout: Duration) -> Bool {
        let last = Duration.nanoseconds(lastNanoseconds.load(ordering: .relaxed))
        return ContinuousClock.now - start - last >= timeout
    }
}

