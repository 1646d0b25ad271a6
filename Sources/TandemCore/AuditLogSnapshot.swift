import TandemProtocol

/// The whole audit log as read in one transaction: what ``AuditChain/verify(_:publicKey:)`` checks.
public struct AuditLogSnapshot: Sendable, Equatable {
    /// Events in ascending `seq` order.
    public var events: [AuditEvent]
    /// The first row that could not even be read as an event (its detail is not JSON, ...).
    public var unreadableSeq: Int64?
    /// Checkpoints in ascending `id` order.
    public var checkpoints: [AuditCheckpoint]

    public init(events: [AuditEvent], unreadableSeq: Int64? = nil, checkpoints: [AuditCheckpoint]) {
        self.events = events
        self.unreadableSeq = unreadableSeq
        self.checkpoints = checkpoints
    }
}
