import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The lifecycle of one session: waiting for the customer → live → ended.
///
/// Pure logic: every input is an ``Event`` and every decision is an ``Action`` that
/// the broker carries out (send, forward, persist, close). It also counts relayed traffic.
public struct SessionStateMachine: Sendable {
    public enum State: Sendable, Equatable {
        case waitingForCustomer(expiresAt: Date)
        case live(customerJoinedAt: Date)
        case ended(SessionEnding)
    }

    public enum Event: Sendable, Equatable {
        /// The customer redeemed the code and wants in.
        case customerJoined(at: Date)
        /// Time passes; a waiting session expires.
        case tick(now: Date)
        /// A binary media frame of `bytes` bytes arrived from `from`.
        case media(from: ParticipantRole, bytes: Int)
        /// A relayed control message (chat) arrived from `from`.
        case control(from: ParticipantRole)
        /// Someone asked to end the session.
        case endRequested(reason: EndReason, outcome: SessionOutcome?, note: String?, at: Date)
        /// A participant's connection closed.
        case participantLeft(ParticipantRole, at: Date)
        /// The customer granted (or refused, or withdrew) consent to share.
        case consent(granted: Bool)
        /// A participant's connection dropped without `session.end`; it may resume until `until`.
        case participantDropped(ParticipantRole, at: Date, until: Date)
        /// A participant that dropped reconnected with its resume token.
        case participantReturned(ParticipantRole, at: Date)
        /// The agent hands the live session over (§17); another agent may take it until `until`.
        case transferRequested(at: Date, until: Date)
        /// Another agent took the transferred session.
        case agentAssigned(at: Date)
    }

    /// A participant whose connection dropped and who may still come back.
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
    }

    public enum Action: Sendable, Equatable {
        /// Welcome the customer and tell the agent; record the join.
        case admitCustomer
        /// Refuse the join attempt with this close code.
        case rejectJoin(TandemCloseCode)
        /// Forward the message to the participant with this role.
        case forward(to: ParticipantRole)
        /// Do not forward the message.
        case drop(DropReason)
        /// Persist the ending, then tell every connected participant and close their connections.
        case end(SessionEnding)
        /// The session had already ended; nothing changes.
        case alreadyEnded(SessionEnding)
        /// Tell the other participant that `role` is away until `until`; log the gap's start.
        case awaitReturn(ParticipantRole, until: Date)
        /// Attach the participant's new connection and catch it up; log the gap (`awaySince`).
        case resume(ParticipantRole, awaySince: Date)
        /// The participant cannot resume: it is not away (or the session ended).
        case rejectResume
        /// Detach the agent's connection and queue the session for another agent until `until`.
        case awaitAgent(until: Date)
        /// Attach the new agent's connection and catch it up; the session waited since `since`.
        case assignAgent(waitingSince: Date)
        /// The session cannot be transferred (not live, no agent, already transferring) or
        /// taken (no transfer pending, or its wait ran out).
        case rejectTransfer
        /// Nothing to do.
        case none
    }

    public private(set) var state: State
    public private(set) var traffic = SessionTraffic()
    /// The customer's latest answer to the consent question; nil until it answers.
    public private(set) var customerConsent: Bool?

    /// Participants that dropped and may come back.
    public private(set) var away: [ParticipantRole: Away] = [:]

    /// A transfer waiting for an agent (§17): since when, and until when.
    public private(set) var transfer: Away?

    /// The earliest end of a grace period or of a transfer's wait, for the sweeper.
    public var awayDeadline: Date? { (away.values.map(\.until) + [transfer?.until].compactMap { $0 }).min() }

    /// Whether the customer's media may be relayed.
    public var customerMayShare: Bool { customerConsent == true }

    public init(expiresAt: Date) {
        self.state = .waitingForCustomer(expiresAt: expiresAt)
    }

    public var isEnded: Bool {
        if case .ended = state { true } else { false }
    }

    public mutating func event(_ event: Event) -> Action {
        switch (state, event) {
        case (.ended(let ending), .participantDropped):
            return .alreadyEnded(ending)
        case (_, .participantDropped(let role, let at, let until)):
            guard at < until else { return end(reason: role == .agent ? .agentLeft : .customerLeft, outcome: nil, note: nil, at: at) }
            away[role] = Away(since: away[role]?.since ?? at, until: until)
            return .awaitReturn(role, until: until)
        case (.ended, .participantReturned):
            return .rejectResume
        case (_, .participantReturned(let role, let at)):
            guard let gone = away[role], at < gone.until else { return .rejectResume }
            away[role] = nil
            return .resume(role, awaySince: gone.since)
        case (.live, .transferRequested(let at, let until)):
            guard transfer == nil, away[.agent] == nil, at < until else { return .rejectTransfer }
            transfer = Away(since: at, until: until)
            return .awaitAgent(until: until)
        case (_, .transferRequested):
            return .rejectTransfer
        case (.live, .agentAssigned(let at)):
            guard let pending = transfer, at < pending.until else { return .rejectTransfer }
            transfer = nil
            return .assignAgent(waitingSince: pending.since)
        case (_, .agentAssigned):
            return .rejectTransfer
        case (.live, .tick(let now)) where transfer.map { $0.until <= now } ?? false:
            // Nobody took the transferred session in time: it ends when the wait ran out.
            return end(reason: .transferUnanswered, outcome: nil, note: nil, at: transfer!.until)
        case (.live, .media(.customer, _)) where transfer != nil, (.live, .control(.customer)) where transfer != nil:
            // Between agents: nobody to relay to.
            return .drop(.noPeer)
        case (_, .tick(let now)) where away.values.contains(where: { $0.until <= now }):
            // A grace period passed: the session ends when that participant dropped.
            let (role, gone) = away.filter { $0.value.until <= now }.min { $0.value.since < $1.value.since }!
            return end(reason: role == .agent ? .agentLeft : .customerLeft, outcome: nil, note: nil, at: gone.since)
        case (.live, .media(let from, _)) where away[from.peer] != nil:
            return .drop(.noPeer)
        case (.live, .control(let from)) where away[from.peer] != nil:
            return .drop(.noPeer)

        case (.waitingForCustomer(let expiresAt), .customerJoined(let at)):
            guard at < expiresAt else { return .rejectJoin(.codeExpired) }
            state = .live(customerJoinedAt: at)
            return .admitCustomer
        case (.live, .customerJoined):
            return .rejectJoin(.codeUsed)
        case (.ended, .customerJoined):
            return .rejectJoin(.codeExpired)

        case (.waitingForCustomer(let expiresAt), .tick(let now)):
            guard now >= expiresAt else { return .none }
            return end(reason: .expired, outcome: nil, note: nil, at: now)
        case (.live, .tick), (.ended, .tick):
            return .none

        case (.live, .media(.customer, _)) where !customerMayShare:
            return .drop(.noConsent)
        case (.live, .media(let from, let bytes)):
            count(from: from, bytes: bytes)
            return .forward(to: from.peer)
        case (.waitingForCustomer, .media):
            return .drop(.noPeer)
        case (.ended, .media):
            return .drop(.ended)

        case (.live, .control(let from)):
            return .forward(to: from.peer)
        case (.waitingForCustomer, .control):
            return .drop(.noPeer)
        case (.ended, .control):
            return .drop(.ended)

        case (.live, .consent(let granted)):
            customerConsent = granted
            return .forward(to: .agent)
        case (.waitingForCustomer, .consent):
            return .drop(.noPeer)
        case (.ended, .consent):
            return .drop(.ended)

        case (.ended(let ending), .endRequested), (.ended(let ending), .participantLeft):
            return .alreadyEnded(ending)
        case (_, .endRequested(let reason, let outcome, let note, let at)):
            return end(reason: reason, outcome: outcome, note: note, at: at)
        case (_, .participantLeft(let role, let at)):
            return end(reason: role == .agent ? .agentLeft : .customerLeft, outcome: nil, note: nil, at: at)
        }
    }

    private mutating func count(from role: ParticipantRole, bytes: Int) {
        switch role {
        case .agent: traffic.agentToCustomer.add(bytes: bytes)
        case .customer: traffic.customerToAgent.add(bytes: bytes)
        }
    }

    private mutating func end(reason: EndReason, outcome: SessionOutcome?, note: String?, at: Date) -> Action {
        away = [:]
        transfer = nil
        let ending = SessionEnding(endedAt: at, reason: reason, outcome: outcome, note: note, traffic: traffic)
        state = .ended(ending)
        return .end(ending)
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
