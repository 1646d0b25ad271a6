#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Broker → agent on its presence connection (protocol/README.md §20.2): a queue entry
/// offered to this agent until `until`. Accepted with `hello.take` carrying `offerId`,
/// declined with `queue.decline`.
public struct QueueOffer: Sendable, Equatable, Codable {
    public var offerID: String
    public var queueID: String
    public var kind: QueueListing.Entry.Kind
    public var ticket: String
    public var tier: SupportTier
    public var line: String
    public var mode: SessionMode
    public var skills: [String]
    public var waitedSeconds: Int
    public var until: Date
    /// A transfer: who handed it over and the note.
    public var from: String?
    public var note: String?

    enum CodingKeys: String, CodingKey {
        case offerID = "offerId"
        case queueID = "queueId"
        case kind, ticket, tier, line, mode, skills, waitedSeconds, until, from, note
    }

    public init(
        offerID: String,
        queueID: String,
        kind: QueueListing.Entry.Kind,
        ticket: String,
        tier: SupportTier,
        line: String,
        mode: SessionMode,
        skills: [String],
        waitedSeconds: Int,
        until: Date,
        from: String? = nil,
        note: String? = nil
    ) {
        self.offerID = offerID
        self.queueID = queueID
        self.kind = kind
        self.ticket = ticket
        self.tier = tier
        self.line = line
        self.mode = mode
        self.skills = skills
        self.waitedSeconds = waitedSeconds
        self.until = until
        self.from = from
        self.note = note
    }
}

/// Agent → broker (`queue.decline`, §20.2): the agent refuses the offer.
public struct OfferReference: Sendable, Equatable, Codable {
    public var offerID: String

    enum CodingKeys: String, CodingKey {
        case offerID = "offerId"
    }

    public init(offerID: String) {
        self.offerID = offerID
    }
}

/// Broker → agent (`queue.withdrawn`, §20.2): the offer ended because its entry went away,
/// or because it ran out of time.
public struct QueueWithdrawn: Sendable, Equatable, Codable {
    public enum Reason: String, Sendable, Codable, CaseIterable {
        case customerLeft = "customer-left"
        case taken
        case overflowed
        /// This agent's own offer ran out of time (§20.2).
        case timeout
    }

    public var offerID: String
    public var reason: Reason

    enum CodingKeys: String, CodingKey {
        case offerID = "offerId"
        case reason
    }

    public init(offerID: String, reason: Reason) {
        self.offerID = offerID
        self.reason = reason
    }
}
