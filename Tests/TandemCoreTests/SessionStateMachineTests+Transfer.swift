import Foundation
import TandemCore
import TandemProtocol
import Testing

extension SessionStateMachineTests {
    @Test("transfer: only a live session with its agent; customer traffic waits; the next agent resumes it; a second transfer works")
    func transferTaken() {
        var machine = SessionStateMachine(expiresAt: expiry)
        #expect(machine.transferRequested(at: t0, until: t0.addingTimeInterval(300)) == .reject)
        #expect(machine.agentAssigned(at: t0) == .reject)
        #expect(machine.customerJoined(at: t0) == .admit)
        #expect(machine.consentReceived(granted: true) == .forwardToAgent)
        #expect(machine.agentAssigned(at: t0.addingTimeInterval(1)) == .reject)
        #expect(
            machine.transferRequested(at: t0.addingTimeInterval(10), until: t0.addingTimeInterval(310))
                == .awaitAgent(until: t0.addingTimeInterval(310))
        )
        #expect(machine.transfer?.since == t0.addingTimeInterval(10))
        #expect(machine.awayDeadline == t0.addingTimeInterval(310))
        #expect(machine.transferRequested(at: t0.addingTimeInterval(11), until: t0.addingTimeInterval(311)) == .reject)
        #expect(machine.mediaReceived(from: .customer, bytes: 100) == .drop(.noPeer))
        #expect(machine.controlReceived(from: .customer) == .noPeer)
        #expect(machine.consentReceived(granted: true) == .forwardToAgent)
        #expect(machine.customerJoined(at: t0.addingTimeInterval(12)) == .reject(.codeUsed))
        #expect(machine.tick(now: t0.addingTimeInterval(100)) == .none)
        #expect(machine.traffic.customerToAgent.frames == 0)
        #expect(machine.agentAssigned(at: t0.addingTimeInterval(40)) == .assign(waitingSince: t0.addingTimeInterval(10)))
        #expect(machine.transfer == nil)
        #expect(machine.awayDeadline == nil)
        #expect(machine.mediaReceived(from: .customer, bytes: 100) == .forward(to: .agent))
        #expect(machine.controlReceived(from: .agent) == .forward(to: .customer))
        #expect(machine.agentAssigned(at: t0.addingTimeInterval(41)) == .reject)
        #expect(
            machine.transferRequested(at: t0.addingTimeInterval(50), until: t0.addingTimeInterval(350))
                == .awaitAgent(until: t0.addingTimeInterval(350))
        )
        #expect(machine.agentAssigned(at: t0.addingTimeInterval(60)) == .assign(waitingSince: t0.addingTimeInterval(50)))
    }

    @Test("transfer: nobody takes it before the wait ends → transfer-unanswered at the end of the wait; a late take is refused")
    func transferUnanswered() {
        var machine = SessionStateMachine(expiresAt: expiry)
        #expect(machine.customerJoined(at: t0) == .admit)
        #expect(
            machine.transferRequested(at: t0.addingTimeInterval(10), until: t0.addingTimeInterval(70))
                == .awaitAgent(until: t0.addingTimeInterval(70))
        )
        #expect(machine.tick(now: t0.addingTimeInterval(69)) == .none)
        #expect(machine.agentAssigned(at: t0.addingTimeInterval(70)) == .reject)
        let ending = SessionEnding(endedAt: t0.addingTimeInterval(70), reason: .transferUnanswered, outcome: nil, note: nil, traffic: machine.traffic)
        #expect(machine.tick(now: t0.addingTimeInterval(71)) == .end(ending))
        #expect(machine.transfer == nil)
        #expect(machine.agentAssigned(at: t0.addingTimeInterval(72)) == .reject)
        #expect(machine.transferRequested(at: t0.addingTimeInterval(72), until: t0.addingTimeInterval(372)) == .reject)
    }

    @Test("transfer: the customer may drop and return while it waits; ending it clears the transfer")
    func transferWithCustomerAway() {
        var machine = SessionStateMachine(expiresAt: expiry)
        #expect(machine.customerJoined(at: t0) == .admit)
        #expect(machine.transferRequested(at: t0, until: t0.addingTimeInterval(300)) == .awaitAgent(until: t0.addingTimeInterval(300)))
        #expect(
            machine.participantDropped(.customer, at: t0.addingTimeInterval(5), until: t0.addingTimeInterval(65))
                == .awaitReturn(until: t0.addingTimeInterval(65))
        )
        #expect(machine.awayDeadline == t0.addingTimeInterval(65))
        #expect(machine.agentAssigned(at: t0.addingTimeInterval(10)) == .assign(waitingSince: t0))
        #expect(machine.mediaReceived(from: .agent, bytes: 10) == .drop(.noPeer))
        #expect(machine.participantReturned(.customer, at: t0.addingTimeInterval(20)) == .resume(awaySince: t0.addingTimeInterval(5)))
        #expect(
            machine.transferRequested(at: t0.addingTimeInterval(30), until: t0.addingTimeInterval(330))
                == .awaitAgent(until: t0.addingTimeInterval(330))
        )
        let ending = SessionEnding(endedAt: t0.addingTimeInterval(40), reason: .endedViaAPI, outcome: .escalated, note: nil, traffic: machine.traffic)
        #expect(machine.endRequested(reason: .endedViaAPI, outcome: .escalated, note: nil, at: t0.addingTimeInterval(40)) == .end(ending))
        #expect(machine.transfer == nil)
    }

    @Test("transfer: refused while the agent is away, and when its wait would already be over")
    func transferRefused() {
        var machine = SessionStateMachine(expiresAt: expiry)
        #expect(machine.customerJoined(at: t0) == .admit)
        #expect(machine.transferRequested(at: t0.addingTimeInterval(1), until: t0.addingTimeInterval(1)) == .reject)
        #expect(machine.transfer == nil)
        #expect(
            machine.participantDropped(.agent, at: t0.addingTimeInterval(2), until: t0.addingTimeInterval(62))
                == .awaitReturn(until: t0.addingTimeInterval(62))
        )
        #expect(machine.transferRequested(at: t0.addingTimeInterval(3), until: t0.addingTimeInterval(303)) == .reject)
        #expect(machine.transfer == nil)
        #expect(machine.participantReturned(.agent, at: t0.addingTimeInterval(4)) == .resume(awaySince: t0.addingTimeInterval(2)))
        #expect(
            machine.transferRequested(at: t0.addingTimeInterval(5), until: t0.addingTimeInterval(305))
                == .awaitAgent(until: t0.addingTimeInterval(305))
        )
    }
}
