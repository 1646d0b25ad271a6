/// How much overlay a session may keep, and how large the messages that carry it to a
/// participant who (re)joins may be (protocol/README.md §5.10, §13).
public struct OverlayLimits: Sendable, Equatable {
    /// Bytes of shapes a session keeps across all its overlays, as ``OverlayState/cost(of:)``
    /// counts them. An `add` or `append` beyond it is refused with `overlay-full`.
    /// Default 2 MiB.
    public var maxBytesPerSession: Int
    /// Largest `overlay.snapshot` (or catch-up `annotation`) the broker sends, in bytes of
    /// JSON: a larger overlay is sent in several messages. Default 64 KiB, the control
    /// message limit.
    public var maxMessageSize: Int

    public init(maxBytesPerSession: Int = 2 << 20, maxMessageSize: Int = 64 << 10) {
        self.maxBytesPerSession = maxBytesPerSession
        self.maxMessageSize = maxMessageSize
    }

    /// No budget: for rebuilding overlays from a recording, which the broker already bounded.
    public static let unlimited = OverlayLimits(maxBytesPerSession: .max, maxMessageSize: .max)
}
