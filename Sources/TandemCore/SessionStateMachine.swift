import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The lifecycle of one session: waiting for the customer → live → ended.
///
/// Pure logic: every input is a method (``customerJoined(at:)``, ``mediaReceived(from:bytes:)``,
/// ``participantDropped(_:at:until:)``…) and returns that input's own action type, holding
/// only the decisions that input can lead to, which the broker carries out (send, forward,
/// persist, close). It also counts relayed traffic.
///
/// The inputs are grouped by the part of the protocol they belong to: joining, time and
/// ending here; relaying in `SessionStateMachine+Relay.swift`; reconnecting (§5.13) in
/// `SessionStateMachine+Reconnect.swift`; transfers (§17) in `SessionStateMachine+Transfer.swift`.
public struct SessionStateMachine: Sendable {
    public enum State: Sendable, Equatable {
        case waitingForCustomer(expiresAt: Date)
        case live(customerJoinedAt: Date)
        case ended(SessionEnding)
    }

    /// A participant whose connection dropped and who may still come back, or a transfer
    /// waiting for an agent: since when, and until when.
    public struct Away: Sendable, Equatable {
        public var since: Date
        public var until: Date
    }

    public enum DropReason: Error, Sendable, Equatable {
        /// The other participant is not connected yet.
        case noPeer
        /// The session has ended.
        case ended
        /// The customer has not granted consent to share: none of its media goes out.
        case noConsent
        /// An audio frame while the session's voice is off (§5.14).
        case voiceOff
    }

    public private(set) var state: State
    public private(set) var traffic = SessionTraffic()
    /// The customer's latest answer to the consent question; nil until it answers.
    public internal(set) var customerConsent: Bool?
    /// Whether the agent turned the session's voice on (§5.14).
    public internal(set) var voiceEnabled = false
    /// The customer's latest answer about its microphone while voice is on; nil until then.
    public internal(set) var customerMicrophone: Bool?

    /// Participants that dropped and may come back.
    public internal(set) var away: [ParticipantRole: Away] = [:]

    /// A transfer waiting for an agent (§17): since when, and until when.
    public internal(set) var transfer: Away?

    /// The earliest end of a grace period or of a transfer's wait, for the sweeper.
    public var awayDeadline: Date? { (away.values.map(\.until) + [transfer?.until].compactMap { $0 }).min() }

    /// Whether the customer's media may be relayed.
    public var customerMayShare: Bool { customerConsent == true }

    public var isEnded: Bool {
        switch state {
        case .waitingForCustomer, .live: false
        case .ended: true
        }
    }

    /// A session opened with a join code (§3): it waits for the customer until `expiresAt`.
    public init(expiresAt: Date) {
        self.state = .waitingForCustomer(expiresAt: expiresAt)
    }

    /// A session opened for a customer an agent took from the queue (§16): no join code is
    /// issued, the customer is in from the start (`customerJoinedAt`).
    public init(customerJoinedAt: Date) {
        self.state = .live(customerJoinedAt: customerJoinedAt)
    }

    // MARK: - Joining

    /// What to do with a customer that redeemed the join code.
    public enum CustomerJoinedAction: Sendable, Equatable {
        /// Welcome the customer and tell the agent; record the join.
        case admit
        /// Refuse the join attempt with this close code (4409 used, 4410 expired).
        case reject(TandemCloseCode)
    }

    /// The customer redeemed the session's join code (or link) and wants in (§2, §3). The
    /// code is single use and works until it expires; a session that ended before anyone
    /// joined refuses it as expired.
    public mutating func customerJoined(at: Date) -> CustomerJoinedAction {
        switch state {
        case .waitingForCustomer(let expiresAt):
            guard at < expiresAt else { return .reject(.codeExpired) }
            state = .live(customerJoinedAt: at)
            return .admit
        case .live:
            return .reject(.codeUsed)
        case .ended:
            return .reject(.codeExpired)
        }
    }

    // MARK: - Time

    /// What passing time does to the session.
    public enum TickAction: Sendable, Equatable {
        /// Persist the ending, then tell every connected participant and close their connections.
        case end(SessionEnding)
        /// Nothing to do.
        case none
    }

    /// Time passed (the broker's sweeper, every few seconds). A session ends when its join
    /// code expired before the customer joined (`expired`, §3), when a participant that
    /// dropped did not come back within its grace period (`agent-left` / `customer-left`, at
    /// the moment it dropped, §5.13), or when nobody took a transfer within its wait
    /// (`transfer-unanswered`, at the end of the wait, §17).
    public mutating func tick(now: Date) -> TickAction {
        switch state {
        case .waitingForCustomer(let expiresAt):
            if let ending = endIfGracePassed(now: now) { return .end(ending) }
            guard now >= expiresAt else { return .none }
            return .end(endSession(reason: .expired, outcome: nil, note: nil, at: now))
        case .live:
            if let pending = transfer, pending.until <= now {
                // Nobody took the transferred session in time: it ends when the wait ran out.
                return .end(endSession(reason: .transferUnanswered, outcome: nil, note: nil, at: pending.until))
            }
            if let ending = endIfGracePassed(now: now) { return .end(ending) }
            return .none
        case .ended:
            return .none
        }
    }

    // MARK: - Ending

    /// What to do with a request to end the session.
    public enum EndRequestedAction: Sendable, Equatable {
        /// Persist the ending, then tell every connected participant and close their connections.
        case end(SessionEnding)
        /// The session had already ended (this ending); nothing changes.
        case alreadyEnded(SessionEnding)
    }

    /// Someone asked to end the session for `reason`: a participant's `session.end` (§5.6,
    /// the agent with an `outcome` and `note`), the API (§9), a revoked agent, a participant
    /// disconnected for abuse or reading too slowly, or the broker shutting down (§7). There
    /// is exactly one ending per session: a later request gets the first one.
    public mutating func endRequested(reason: EndReason, outcome: SessionOutcome?, note: String?, at: Date) -> EndRequestedAction {
        switch state {
        case .waitingForCustomer, .live:
            return .end(endSession(reason: reason, outcome: outcome, note: note, at: at))
        case .ended(let ending):
            return .alreadyEnded(ending)
        }
    }

    /// What to do when a participant leaves for good.
    public enum ParticipantLeftAction: Sendable, Equatable {
        /// Persist the ending, then tell every connected participant and close their connections.
        case end(SessionEnding)
        /// The session had already ended (this ending); nothing changes.
        case alreadyEnded(SessionEnding)
    }

    /// A participant's connection closed and it will not come back (no grace period): the
    /// session ends as `agent-left` or `customer-left` (§7). A connection that may resume
    /// is ``participantDropped(_:at:until:)``.
    public mutating func participantLeft(_ role: ParticipantRole, at: Date) -> ParticipantLeftAction {
        switch state {
        case .waitingForCustomer, .live:
            return .end(endSession(reason: Self.leftReason(role), outcome: nil, note: nil, at: at))
        case .ended(let ending):
            return .alreadyEnded(ending)
        }
    }

    // MARK: - Helpers for the inputs

    /// Ends the session: clears the away participants and any pending transfer, and returns
    /// the ending (with the traffic so far) that the inputs' `.end` actions carry.
    mutating func endSession(reason: EndReason, outcome: SessionOutcome?, note: String?, at: Date) -> SessionEnding {
        away = [:]
        transfer = nil
        let ending = SessionEnding(endedAt: at, reason: reason, outcome: outcome, note: note, traffic: traffic)
        state = .ended(ending)
        return ending
    }

    /// Ends the session when a dropped participant's grace period passed, at the moment it
    /// dropped (the earliest such drop); nil when no grace period passed.
    private mutating func endIfGracePassed(now: Date) -> SessionEnding? {
        guard let passed = away.filter({ $0.value.until <= now }).min(by: { $0.value.since < $1.value.since }) else { return nil }
        return endSession(reason: Self.leftReason(passed.key), outcome: nil, note: nil, at: passed.value.since)
    }

    /// Counts a relayed media frame of `bytes` bytes from `role`.
    mutating func count(from role: ParticipantRole, bytes: Int) {
        switch role {
        case .agent: traffic.agentToCustomer.add(bytes: bytes)
        case .customer: traffic.customerToAgent.add(bytes: bytes)
        }
    }

    /// The end reason of a participant of `role` that left.
    static func leftReason(_ role: ParticipantRole) -> EndReason {
        switch role {
        case .agent: .agentLeft
        case .customer: .customerLeft
        }
    }
}

extension ParticipantRole {
    /// The other side of the relay.
    public var peer: ParticipantRole {
        switch self {
        case .agent: .customer
        case .customer: .agent
        }
    }
}
