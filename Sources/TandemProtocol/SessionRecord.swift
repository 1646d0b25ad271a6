#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One session as logged against its ticket.
///
/// Wait, connected time and duration are derived from the timestamps.
public struct SessionRecord: Sendable, Equatable {
    public var id: String
    public var ticket: String
    public var agent: String
    public var mode: SessionMode
    public var createdAt: Date
    public var expiresAt: Date
    public var customerJoinedAt: Date?
    public var customerClient: String?
    /// The customer's network address as the broker saw it.
    public var customerAddress: String?
    public var endedAt: Date?
    public var endReason: EndReason?
    public var outcome: SessionOutcome?
    public var note: String?
    /// Who ended it: the agent's or an API user's name, `customer`, or `broker`.
    public var endedBy: String?
    /// The last time the broker recorded the session as active (while live).
    public var lastActivityAt: Date?
    public var traffic: SessionTraffic
    public var chatMessages: Int
    public var annotations: Int
    public var freezes: Int
    /// Frames relayed and dropped per stream.
    public var streams: [StreamStats]

    public init(
        id: String,
        ticket: String,
        agent: String,
        mode: SessionMode,
        createdAt: Date,
        expiresAt: Date,
        customerJoinedAt: Date? = nil,
        customerClient: String? = nil,
        customerAddress: String? = nil,
        endedAt: Date? = nil,
        endReason: EndReason? = nil,
        outcome: SessionOutcome? = nil,
        note: String? = nil,
        endedBy: String? = nil,
        lastActivityAt: Date? = nil,
        traffic: SessionTraffic = .init(),
        chatMessages: Int = 0,
        annotations: Int = 0,
        freezes: Int = 0,
        streams: [StreamStats] = []
    ) {
        self.id = id
        self.ticket = ticket
        self.agent = agent
        self.mode = mode
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.customerJoinedAt = customerJoinedAt
        self.customerClient = customerClient
        self.customerAddress = customerAddress
        self.endedAt = endedAt
        self.endReason = endReason
        self.outcome = outcome
        self.note = note
        self.endedBy = endedBy
        self.lastActivityAt = lastActivityAt
        self.traffic = traffic
        self.chatMessages = chatMessages
        self.annotations = annotations
        self.freezes = freezes
        self.streams = streams
    }

    public var isEnded: Bool { endedAt != nil }

    /// Seconds from creation until the customer joined, or until the end when nobody joined.
    public var waitSeconds: Double? {
        if let customerJoinedAt { return customerJoinedAt.timeIntervalSince(createdAt) }
        if let endedAt { return endedAt.timeIntervalSince(createdAt) }
        return nil
    }

    /// Seconds the customer was connected.
    public var connectedSeconds: Double? {
        guard let customerJoinedAt, let endedAt else { return nil }
        return endedAt.timeIntervalSince(customerJoinedAt)
    }

    /// Whether a join code was issued: a session taken from the queue (§16) has none, and
    /// its `expiresAt` equals its `createdAt`.
    public var codeIssued: Bool { expiresAt > createdAt }

    /// The detail of its `session.created` audit event.
    public var creationDetail: [String: String] {
        var detail = ["ticket": ticket, "mode": mode.rawValue, "codeIssued": codeIssued ? "true" : "false"]
        if codeIssued { detail["expiresAt"] = expiresAt.formatted(.iso8601) }
        return detail
    }

    /// Seconds from creation to the end.
    public var durationSeconds: Double? {
        endedAt.map { $0.timeIntervalSince(createdAt) }
    }
}

extension SessionRecord: Codable {
    enum CodingKeys: String, CodingKey {
        case id, ticket, agent, mode, createdAt, expiresAt, customerJoinedAt, customerClient, customerAddress
        case endedAt, endReason, outcome, note, endedBy, lastActivityAt
        case waitSeconds, connectedSeconds, durationSeconds
        case agentToCustomer, customerToAgent
        case chatMessages, annotations, freezes, streams
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try container.decode(String.self, forKey: .id),
            ticket: try container.decode(String.self, forKey: .ticket),
            agent: try container.decode(String.self, forKey: .agent),
            mode: try container.decode(SessionMode.self, forKey: .mode),
            createdAt: try container.decode(Date.self, forKey: .createdAt),
            expiresAt: try container.decode(Date.self, forKey: .expiresAt),
            customerJoinedAt: try container.decodeIfPresent(Date.self, forKey: .customerJoinedAt),
            customerClient: try container.decodeIfPresent(String.self, forKey: .customerClient),
            customerAddress: try container.decodeIfPresent(String.self, forKey: .customerAddress),
            endedAt: try container.decodeIfPresent(Date.self, forKey: .endedAt),
            endReason: try container.decodeIfPresent(EndReason.self, forKey: .endReason),
            outcome: try container.decodeIfPresent(SessionOutcome.self, forKey: .outcome),
            note: try container.decodeIfPresent(String.self, forKey: .note),
            endedBy: try container.decodeIfPresent(String.self, forKey: .endedBy),
            lastActivityAt: try container.decodeIfPresent(Date.self, forKey: .lastActivityAt),
            traffic: SessionTraffic(
                agentToCustomer: try container.decode(TrafficCounters.self, forKey: .agentToCustomer),
                customerToAgent: try container.decode(TrafficCounters.self, forKey: .customerToAgent)
            ),
            chatMessages: try container.decodeIfPresent(Int.self, forKey: .chatMessages) ?? 0,
            annotations: try container.decodeIfPresent(Int.self, forKey: .annotations) ?? 0,
            freezes: try container.decodeIfPresent(Int.self, forKey: .freezes) ?? 0,
            streams: try container.decodeIfPresent([StreamStats].self, forKey: .streams) ?? []
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(ticket, forKey: .ticket)
        try container.encode(agent, forKey: .agent)
        try container.encode(mode, forKey: .mode)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(expiresAt, forKey: .expiresAt)
        try container.encode(customerJoinedAt, forKey: .customerJoinedAt)
        try container.encode(customerClient, forKey: .customerClient)
        try container.encode(customerAddress, forKey: .customerAddress)
        try container.encode(endedAt, forKey: .endedAt)
        try container.encode(endReason, forKey: .endReason)
        try container.encode(outcome, forKey: .outcome)
        try container.encode(note, forKey: .note)
        try container.encode(endedBy, forKey: .endedBy)
        try container.encode(lastActivityAt, forKey: .lastActivityAt)
        try container.encode(waitSeconds, forKey: .waitSeconds)
        try container.encode(connectedSeconds, forKey: .connectedSeconds)
        try container.encode(durationSeconds, forKey: .durationSeconds)
        try container.encode(traffic.agentToCustomer, forKey: .agentToCustomer)
        try container.encode(traffic.customerToAgent, forKey: .customerToAgent)
        try container.encode(chatMessages, forKey: .chatMessages)
        try container.encode(annotations, forKey: .annotations)
        try container.encode(freezes, forKey: .freezes)
        try container.encode(streams, forKey: .streams)
    }
}
