/// Broker → customer waiting in a queue: where it stands. Sent on entering, whenever the
/// position changes, and every few seconds while waiting.
/// See [protocol/README.md § Queue](../../protocol/README.md#16-queue).
public struct QueueStatus: Sendable, Equatable, Codable {
    /// 1 = next to be taken in its line.
    public var position: Int
    public var line: String
    public var tier: SupportTier
    /// Whole seconds since the customer entered the queue.
    public var waitedSeconds: Int

    public init(position: Int, line: String, tier: SupportTier, waitedSeconds: Int) {
        self.position = position
        self.line = line
        self.tier = tier
        self.waitedSeconds = waitedSeconds
    }
}
