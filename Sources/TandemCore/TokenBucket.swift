/// A token bucket: `rate` tokens per second refill up to `burst`; each message takes one.
/// Pure logic: the caller passes the time.
public struct TokenBucket: Sendable, Equatable {
    public let rate: Double
    public let burst: Double
    private var tokens: Double
    private var last: Double?

    public init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
        self.tokens = burst
    }

    /// Takes a token at `now` (seconds on any monotonic clock); false when none is left.
    public mutating func take(now: Double) -> Bool {
        refill(now: now)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    /// Seconds from `now` until a token can be taken; 0 when one can be now.
    public mutating func waitForToken(now: Double) -> Double {
        refill(now: now)
        guard tokens < 1 else { return 0 }
        return rate > 0 ? (1 - tokens) / rate : 86_400
    }

    private mutating func refill(now: Double) {
        if let last { tokens = min(burst, tokens + max(0, now - last) * rate) }
        last = max(now, last ?? now)
    }
}
