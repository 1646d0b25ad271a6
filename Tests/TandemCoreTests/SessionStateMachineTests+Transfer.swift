import Foundation
import TandemCore
import TandemProtocol
import Testing

extension SessionStateMachineTests {
    @Test("transfer: only a live session with its agent; customer traffic waits; the next agent resumes it; a second transfer works")
    func transferTaken() {
        var machine = SessionStateMachine(expiresAt: expiry)
        #expect(machine.event(.transferRequested(at: t0, until: t0.addingTimeInterval(300))) == .rejectTransfer)
        #expect(machine.event(.customerJoined(at: t0)) == .admitCustomer)
        #expect(machine.event(.consent(granted: true)) == .forward(to: .agent))
        #expect(machine.event(.agentAssigned(at: t0.addingTimeInterval(1))) == .rejectTransfer)
        #expect(machine.event(.transferRequested(at: t0.addingTimeInterval(10), until: t0.addingTimeInterval(310))) == .awaitAgent(until: t0.addingTimeInterval(310)))
        #expect(machine.transfer?.since == t0.addingTimeInterval(10))
        #expect(machine.awayDeadline == t0.addingTimeInterval(310))
        #expect(machine.event(.transferRequested(at: t0.addingTimeInterval(11), until: t0.addingTimeInterval(311))) == .rejectTransfer)
        #expect(machine.event(.media(from: .customer, bytes: 100)) == .drop(.noPeer))
        #expect(machine.event(.control(from: .customer)) == .drop(.noPeer))
        #expect(machine.event(.tick(now: t0.addingTimeInterval(100))) == .none)
        #expect(machine.event(.agentAssigned(at: t0.addingTimeInterval(40))) == .assignAgent(waitingSince: t0.addingTimeInterval(10)))
        #expect(machine.transfer == nil)
        #expect(machine.awayDeadline == nil)
        #expect(machine.event(.media(from: .customer, bytes: 100)) == .forward(to: .agent))
        #expect(machine.event(.agentAssigned(at: t0.addingTimeInterval(41))) == .rejectTransfer)
        #expect(machine.event(.transferRequested(at: t0.addingTimeInterval(50), until: t0.addingTimeInterval(350))) == .awaitAgent(until: t0.addingTimeInterval(350)))
        #expect(machine.event(.agentAssigned(at: t0.addingTimeInterval(60))) == .assignAgent(waitingSince: t0.addingTimeInterval(50)))
    }

    @Test("transfer: nobody takes it before the wait ends → transfer-unanswered at the end of the wait; a late take is refused")
    func transferUnanswered() {
        var machine = SessionStateMachine(expiresAt: expiry)
        #expect(machine.event(.customerJoined(at: t0)) == .admitCustomer)
        #expect(machine.event(.transferRequested(at: t0.addingTimeInterval(10), until: t0.addingTimeInterval(70))) == .awaitAgent(until: t0.addingTimeInterval(70)))
        #expect(machine.event(.tick(now: t0.addingTimeInterval(69))) == .none)
        #expect(machine.event(.agentAssigned(at: t0.addingTimeInterval(70))) == .rejectTransfer)
        let ending = SessionEnding(endedAt: t0.addingTimeInterval(70), reason: .transferUnanswered, outcome: nil, note: nil, traffic: machine.traffic)
        #expect(machine.event(.tick(now: t0.addingTimeInterval(71))) == .end(ending))
        #expect(machine.transfer == nil)
        #expect(machine.event(.agentAssigned(at: t0.addingTimeInterval(72))) == .rejectTransfer)
    }

    @Test("transfer: the customer may drop and return while it waits; ending it clears the transfer")
    func transferWithCustomerAway() {
        var machine = SessionStateMachine(expiresAt: expiry)
        #expect(machine.event(.customerJoined(at: t0)) == .admitCustomer)
        #expect(machine.event(.transferRequested(at: t0, until: t0.addingTimeInterval(300))) == .awaitAgent(until: t0.addingTimeInterval(300)))
        #expect(machine.event(.participantDropped(.customer, at: t0.addingTimeInterval(5), until: t0.addingTimeInterval(65))) == .awaitReturn(.customer, until: t0.addingTimeInterval(65)))
        #expect(machine.awayDeadline == t0.addingTimeInterval(65))
        #expect(machine.event(.agentAssigned(at: t0.addingTimeInterval(10))) == .assignAgent(waitingSince: t0))
        #expect(machine.event(.participantReturned(.customer, at: t0.addingTimeInterval(20))) == .resume(.customer, awaySince: t0.addingTimeInterval(5)))
        #expect(machine.event(.transferRequested(at: t0.addingTimeInterval(30), until: t0.addingTimeInterval(330))) == .awaitAgent(until: t0.addingTimeInterval(330)))
        let ending = SessionEnding(endedAt: t0.addingTimeInterval(40), reason: .endedViaAPI, outcome: .escalated, note: nil, traffic: machine.traffic)
        #expect(machine.event(.endRequested(reason: .endedViaAPI, outcome: .escalated, note: nil, at: t0.addingTimeInterval(40))) == .end(ending))
        #expect(machine.transfer == nil)
    }
}
