import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How and when a session ended, as written to the log.
public struct SessionEnding: Sendable, Equatable {
    public var endedAt: Date
    public var reason: EndReason
    public var outcome: SessionOutcome?
    public var note: String?
    /// Who ended it: the agent's or an API user's name, `customer`, or `broker`.
    public var endedBy: String?
    public var traffic: SessionTraffic
    public var chatMessages = 0
    public var annotations = 0
    public var freezes = 0
    /// Anchored shapes added, and the times the scene tracking was lost and recovered (§5.15).
    public var anchoredShapes = 0
    public var trackingLost = 0
    public var trackingRecovered = 0
    public var streams: [StreamStats] = []

    public init(endedAt: Date, reason: EndReason, outcome: SessionOutcome?, note: String?, traffic: SessionTraffic) {
        self.endedAt = endedAt
        self.reason = reason
        self.outcome = outcome
        self.note = note
        self.traffic = traffic
    }
}

extension SessionEnding {
    /// Who ends a session for `reason` when nobody else is named: the agent, the customer or the broker.
    public static func defaultActor(for reason: EndReason, agent: String) -> String {
        switch reason {
        case .agentEnded, .agentLeft, .endedViaAPI: agent
        case .customerLeft: "customer"
        case .expired, .protocolViolation, .slowConsumer, .accessRevoked, .brokerShutdown, .brokerCrash, .brokerLost, .transferUnanswered: "broker"
        }
    }
}

extension SessionEnding {
    /// Adds the counts of `activity` to the ending.
    public mutating func include(_ activity: SessionActivity) {
        chatMessages = activity.chatMessages
        annotations = activity.annotations
        freezes = activity.freezes
        anchoredShapes = activity.anchoredShapes
        trackingLost = activity.trackingLost
        trackingRecovered = activity.trackingRecovered
        streams = activity.streamStats
    }
}

extension SessionEnding {
    /// Counts frames of a stream that were not delivered.
    public mutating func addDropped(_ count: Int, owner: ParticipantRole, streamID: UInt16) {
        if let index = streams.firstIndex(where: { $0.owner == owner && $0.streamID == streamID }) {
            streams[index].framesDropped += Int64(count)
        } else {
            streams.append(StreamStats(owner: owner, streamID: streamID, framesDropped: Int64(count)))
        }
    }
}

extension SessionEnding {
    /// The anchored-annotation counts for the `session.ended` event's detail (§5.15, §11):
    /// `anchors`, `trackingLost`, `trackingRecovered`, present only in sessions that used them.
    public var anchorDetail: [String: String] {
        guard anchoredShapes > 0 || trackingLost > 0 || trackingRecovered > 0 else { return [:] }
        return ["anchors": String(anchoredShapes), "trackingLost": String(trackingLost), "trackingRecovered": String(trackingRecovered)]
    }
}
