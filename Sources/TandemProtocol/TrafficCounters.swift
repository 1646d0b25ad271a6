/// Frames and bytes relayed in one direction.
public struct TrafficCounters: Sendable, Equatable, Codable {
    public var frames: Int64 = 0
    public var bytes: Int64 = 0

    public init(frames: Int64 = 0, bytes: Int64 = 0) {
        self.frames = frames
        self.bytes = bytes
    }

    public mutating func add(bytes: Int) {
        frames += 1
        self.bytes += Int64(bytes)
    }
}

/// Relay traffic of a session in both directions.
public struct SessionTraffic: Sendable, Equatable, Codable {
    public var agentToCustomer = TrafficCounters()
    public var customerToAgent = TrafficCounters()

    public init(agentToCustomer: TrafficCounters = .init(), customerToAgent: TrafficCounters = .init()) {
        self.agentToCustomer = agentToCustomer
        self.customerToAgent = customerToAgent
    }
}
