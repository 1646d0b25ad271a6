import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What brokers sharing one database tell each other (protocol/README.md §14): who is alive
/// and where, which broker holds which unused join code, and whose sessions to close when a
/// broker goes silent. Only stores that several brokers can share implement it.
public protocol BrokerRegistry: Sendable {
    /// This broker's id; sessions it opens are recorded as its own.
    var brokerID: String { get }
    /// Registers this broker (reachable at `url`) or refreshes its heartbeat.
    func heartbeat(url: String, at: Date) async throws
    /// Removes this broker's registration and published codes (graceful shutdown).
    func deregister() async throws
    /// Publishes that this broker holds an unused code (by hash) for `sessionID` until `expiresAt`.
    func publishCode(hash: String, sessionID: String, expiresAt: Date) async throws
    /// Withdraws the published code of `sessionID` (redeemed, expired, or the session ended).
    func withdrawCode(sessionID: String) async throws
    /// The URL of another broker, alive since `aliveSince`, that holds the unused code with this hash.
    func broker(holdingCodeHash hash: String, aliveSince: Date, now: Date) async throws -> String?
    /// The URL of the broker that holds the open session `sessionID`, while that broker is
    /// registered (nil when the session ended, is this broker's, or its broker is gone).
    func broker(holdingSession sessionID: String) async throws -> String?
    /// Closes, with `reason`, the open sessions of brokers whose last heartbeat is before
    /// `silentSince` (never this broker's). Returns the sessions closed.
    func closeSessionsOfLostBrokers(silentSince: Date, reason: EndReason) async throws -> [String]

    // MARK: one floor across brokers (§20.7)

    /// Replaces this broker's published agents (their presence and live sessions here).
    func publishAgents(_ agents: [FloorState.Agent]) async throws
    /// The agents other brokers alive since `aliveSince` published.
    func remoteAgents(aliveSince: Date) async throws -> [FloorState.Agent]
    /// Writes changes of this broker's queue: `upsert` entries (new, moved, or offered here
    /// until a time), `remove` ids (taken, left); with `keepOnly`, also removes every other
    /// entry of this broker. Claims on entries that stay are kept.
    func publishQueue(upsert: [SharedQueueEntry], remove: [String], keepOnly: [String]?) async throws
    /// Extends `agent`'s claim on an entry until `until` (it accepted the offer and is on its way).
    func extendClaim(queueID: String, agent: String, until: Date) async throws
    /// The entries waiting on other brokers alive since `aliveSince`, with their broker's URL
    /// and any claim.
    func remoteQueue(aliveSince: Date) async throws -> [SharedQueueEntry]
    /// This broker's entries that an agent of another broker holds a claim on at `now`.
    func claimedHere(now: Date) async throws -> Set<String>
    /// Claims another broker's entry for `agent` until `until`, to offer it (§20.7): only
    /// when nobody holds a claim and its own broker has no offer open on it. False otherwise.
    func claimForOffer(queueID: String, agent: String, until: Date, now: Date) async throws -> Bool
    /// Gives up `agent`'s claim on an entry (the offer was declined or ran out).
    func releaseClaim(queueID: String, agent: String) async throws
    /// Claims for `agent`, until `until`, the first entry waiting on another broker alive
    /// since `aliveSince` that it would take from `line` (its named transfers first, then
    /// tier, then wait) and that comes before `before` (this broker's own next entry, if
    /// any). Returns the entry's id and its broker's URL. Entries claimed by others and
    /// locked rows are skipped (`FOR UPDATE SKIP LOCKED`).
    func claimQueueEntry(
        line: String,
        agent: String,
        before: SupportQueue.Entry?,
        until: Date,
        aliveSince: Date,
        now: Date
    ) async throws -> (queueID: String, url: String)?
    /// The entries of this broker that other brokers claimed for `agent` and whose claim holds at `now`.
    func claimedEntries(forAgent agent: String, now: Date) async throws -> [String]
}

/// A queue entry as brokers sharing a database see it (§20.7).
public struct SharedQueueEntry: Sendable, Equatable {
    public var entry: SupportQueue.Entry
    /// The base URL of the broker where it waits (remote entries).
    public var url: String?
    /// Its own broker offered it to one of its agents until then.
    public var offeredUntil: Date?
    public var claimedBy: String?
    public var claimedUntil: Date?

    public init(entry: SupportQueue.Entry, url: String? = nil, offeredUntil: Date? = nil, claimedBy: String? = nil, claimedUntil: Date? = nil) {
        self.entry = entry
        self.url = url
        self.offeredUntil = offeredUntil
        self.claimedBy = claimedBy
        self.claimedUntil = claimedUntil
    }
}
