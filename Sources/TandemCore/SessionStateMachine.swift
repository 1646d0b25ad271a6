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
        /// Nothing to do.
        case none
    }

    public private(set) var state: State
    public private(set) var traffic = SessionTraffic()
    /// The customer's latest answer to the consent question; nil until it answers.
    public private(set) var customerConsent: Bool?

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
