import NIOConcurrencyHelpers
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A session while it is in the broker's memory: its state machine and the outboxes of
/// its participants. Every method takes one short lock; the relay hot path calls only
/// ``relay(from:bytes:)``.
final class LiveSession: Sendable {
    let id: String
    let ticket: String
    let agentName: String
    let agentUserID: Int64?
    let mode: SessionMode
    let createdAt: Date
    let expiresAt: Date
    let agentOutbox: ParticipantOutbox

    private struct State {
        var machine: SessionStateMachine
        var customerOutbox: ParticipantOutbox?
    }

    private let state: NIOLockedValueBox<State>

    init(record: SessionRecord, agentUserID: Int64?, agentOutbox: ParticipantOutbox) {
        self.id = record.id
        self.ticket = record.ticket
        self.agentName = record.agent
        self.agentUserID = agentUserID
        self.mode = record.mode
        self.createdAt = record.createdAt
        self.expiresAt = record.expiresAt
        self.agentOutbox = agentOutbox
        self.state = NIOLockedValueBox(State(machine: SessionStateMachine(expiresAt: record.expiresAt)))
    }

    /// Feeds `event` to the state machine.
    func handle(_ event: SessionStateMachine.Event) -> SessionStateMachine.Action {
        state.withLockedValue { $0.machine.event(event) }
    }

    /// The customer asks to join; on admission its outbox becomes the customer's.
    func admit(customerOutbox: ParticipantOutbox, at: Date) -> SessionStateMachine.Action {
        state.withLockedValue { state in
            let action = state.machine.event(.customerJoined(at: at))
            if case .admitCustomer = action { state.customerOutbox = customerOutbox }
            return action
        }
    }

    /// Counts a message and returns the outbox it must go to, or the reason to drop it.
    func relay(from role: ParticipantRole, bytes: Int?) -> Result<ParticipantOutbox, SessionStateMachine.DropReason> {
        state.withLockedValue { state in
            let event: SessionStateMachine.Event = bytes.map { .media(from: role, bytes: $0) } ?? .control(from: role)
            switch state.machine.event(event) {
            case .forward(.agent):
                return .success(agentOutbox)
            case .forward(.customer):
                guard let outbox = state.customerOutbox else { return .failure(.noPeer) }
                return .success(outbox)
            case .drop(let reason):
                return .failure(reason)
            default:
                return .failure(.ended)
            }
        }
    }

    func outbox(for role: ParticipantRole) -> ParticipantOutbox? {
        switch role {
        case .agent: agentOutbox
        case .customer: state.withLockedValue { $0.customerOutbox }
        }
    }

    var traffic: SessionTraffic { state.withLockedValue { $0.machine.traffic } }
    var isEnded: Bool { state.withLockedValue { $0.machine.isEnded } }
}
