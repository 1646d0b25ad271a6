/// Enforces a message rate without ending a session over a short burst: messages beyond the
/// rate (a ``TokenBucket`` of `perSecond`, `burst`) are dropped and the sender is told, at
/// most once a second; only when the dropped excess keeps coming — more than
/// `sustainedExcess` messages beyond the rate, the excess itself draining at `perSecond` —
/// is the connection closed. Sending at up to twice the rate therefore never closes it;
/// a flood closes it within about `sustainedExcess / (flood rate − 2 × perSecond)` seconds.
/// Pure logic: the caller passes the time (seconds on a monotonic clock).
public struct RateGuard: Sendable, Equatable {
    /// What to do with one message.
    public enum Verdict: Sendable, Equatable {
        /// Within the rate.
        case accept
        /// Over the rate: drop it; `notify` when the sender should get an `error` now (at
        /// most once a second).
        case drop(notify: Bool)
        /// Sustained abuse: close the connection.
        case close
    }

    private var bucket: TokenBucket
    private let perSecond: Double
    private let sustainedExcess: Double
    private var excess: Double = 0
    private var lastExcessUpdate: Double?
    private var lastNotice: Double?

    public init(perSecond: Double, burst: Double, sustainedExcess: Double) {
        self.bucket = TokenBucket(rate: perSecond, burst: burst)
        self.perSecond = perSecond
        self.sustainedExcess = sustainedExcess
    }

    /// Messages dropped and not yet drained (for tests).
    public var pendingExcess: Double { excess }

    public mutating func message(now: Double) -> Verdict {
        if let last = lastExcessUpdate {
            excess = max(0, excess - max(0, now - last) * perSecond)
        }
        lastExcessUpdate = now
        if bucket.take(now: now) { return .accept }
        excess += 1
        guard excess <= sustainedExcess else { return .close }
        if let lastNotice, now - lastNotice < 1 { return .drop(notify: false) }
        lastNotice = now
        return .drop(notify: true)
    }
}
