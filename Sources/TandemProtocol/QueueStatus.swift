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
    /// About how many more seconds until an agent takes it, from the line's recent handle
    /// times and agents (§16); absent while the line has too little history to say.
    public var estimatedWaitSeconds: Int?
    /// True once the customer may leave a callback request instead (`queue.callback`, §20.4).
    public var callbackOffered: Bool?

    public init(
        position: Int,
        line: String,
        tier: SupportTier,
        waitedSeconds: Int,
        estimatedWaitSeconds: Int? = nil,
        callbackOffered: Bool? = nil
    ) {
        self.callbackOffered = callbackOffered
        self.position = position
        self.line = line
        self.tier = tier
        self.waitedSeconds = waitedSeconds
        self.estimatedWaitSeconds = estimatedWaitSeconds
    }
}
