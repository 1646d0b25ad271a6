import Foundation
import TandemCore
import TandemProtocol
import Testing

extension SessionStateMachineTests {
    @Test(
        "reconnect: a dropped participant is away until its grace period ends, traffic towards it is dropped, it resumes once with the gap since its first drop"
    )
    func reconnectResumes() {
        var machine = SessionStateMachine(expiresAt: expiry)
        #expect(machine.customerJoined(at: t0) == .admit)
        #expect(machine.participantReturned(.customer, at: t0.addingTimeInterval(1)) == .reject)
        #expect(
            machine.participantDropped(.customer, at: t0.addingTimeInterval(5), until: t0.addingTimeInterval(65))
                == .awaitReturn(until: t0.addingTimeInterval(65))
        )
        #expect(machine.away[.customer]?.since == t0.addingTimeInterval(5))
        #expect(machine.awayDeadline == t0.addingTimeInterval(65))
        #expect(machine.mediaReceived(from: .agent, bytes: 10) == .drop(.noPeer))
        #expect(machine.controlReceived(from: .agent) == .noPeer)
        #expect(machine.traffic.agentToCustomer.frames == 0)
        #expect(machine.tick(now: t0.addingTimeInterval(64)) == .none)
        #expect(
            machine.participantDropped(.customer, at: t0.addingTimeInterval(10), until: t0.addingTimeInterval(70))
                == .awaitReturn(until: t0.addingTimeInterval(70))
        )
        #expect(machine.away[.customer]?.since == t0.addingTimeInterval(5))
        #expect(machine.participantReturned(.customer, at: t0.addingTimeInterval(20)) == .resume(awaySince: t0.addingTimeInterval(5)))
        #expect(machine.away.isEmpty)
        #expect(machine.awayDeadline == nil)
        #expect(machine.mediaReceived(from: .agent, bytes: 10) == .forward(to: .customer))
        #expect(machine.participantReturned(.customer, at: t0.addingTimeInterval(21)) == .reject)
    }

    @Test("reconnect: nobody resumes in time → the session ends when the connection dropped; a late resume is refused")
    func reconnectTooLate() {
        var machine = SessionStateMachine(expiresAt: expiry)
        #expect(machine.customerJoined(at: t0) == .admit)
        #expect(
            machine.participantDropped(.customer, at: t0.addingTimeInterval(5), until: t0.addingTimeInterval(65))
                == .awaitReturn(until: t0.addingTimeInterval(65))
        )
        #expect(machine.participantReturned(.customer, at: t0.addingTimeInterval(65)) == .reject)
        #expect(machine.away[.customer]?.until == t0.addingTimeInterval(65))
        #expect(machine.tick(now: t0.addingTimeInterval(64.999)) == .none)
        let ending = SessionEnding(endedAt: t0.addingTimeInterval(5), reason: .customerLeft, outcome: nil, note: nil, traffic: machine.traffic)
        #expect(machine.tick(now: t0.addingTimeInterval(65)) == .end(ending))
        #expect(machine.away.isEmpty)
        #expect(machine.participantReturned(.customer, at: t0.addingTimeInterval(66)) == .reject)
    }

    @Test("reconnect: nothing reaches the customer's peer while the agent is away; when both grace periods passed, the first to drop ends it")
    func reconnectBothAway() {
        var machine = SessionStateMachine(expiresAt: expiry)
        #expect(machine.customerJoined(at: t0) == .admit)
        #expect(machine.consentReceived(granted: true) == .forwardToAgent)
        #expect(
            machine.participantDropped(.agent, at: t0.addingTimeInterval(5), until: t0.addingTimeInterval(65))
                == .awaitReturn(until: t0.addingTimeInterval(65))
        )
        #expect(machine.mediaReceived(from: .customer, bytes: 10) == .drop(.noPeer))
        #expect(machine.controlReceived(from: .customer) == .noPeer)
        #expect(
            machine.participantDropped(.customer, at: t0.addingTimeInterval(10), until: t0.addingTimeInterval(70))
                == .awaitReturn(until: t0.addingTimeInterval(70))
        )
        #expect(machine.awayDeadline == t0.addingTimeInterval(65))
        let ending = SessionEnding(endedAt: t0.addingTimeInterval(5), reason: .agentLeft, outcome: nil, note: nil, traffic: machine.traffic)
        #expect(machine.tick(now: t0.addingTimeInterval(80)) == .end(ending))
        #expect(machine.away.isEmpty)
    }

    @Test("reconnect: without a grace period a drop ends the session at once; a drop after the end changes nothing")
    func reconnectNoGrace() {
        var machine = SessionStateMachine(expiresAt: expiry)
        #expect(machine.customerJoined(at: t0) == .admit)
        let ending = SessionEnding(endedAt: t0.addingTimeInterval(5), reason: .agentLeft, outcome: nil, note: nil, traffic: machine.traffic)
        #expect(machine.participantDropped(.agent, at: t0.addingTimeInterval(5), until: t0.addingTimeInterval(5)) == .end(ending))
        #expect(machine.participantDropped(.customer, at: t0.addingTimeInterval(6), until: t0.addingTimeInterval(66)) == .alreadyEnded(ending))
        #expect(machine.away.isEmpty)
    }

    @Test(
        "reconnect: the agent may drop and return while waiting for the customer; a drop whose grace passed ends it as agent-left, even when the code expired too"
    )
    func reconnectWhileWaiting() {
        var machine = SessionStateMachine(expiresAt: expiry)
        #expect(machine.participantReturned(.customer, at: t0) == .reject)
        #expect(
            machine.participantDropped(.agent, at: t0.addingTimeInterval(10), until: t0.addingTimeInterval(70))
                == .awaitReturn(until: t0.addingTimeInterval(70))
        )
        #expect(machine.participantReturned(.agent, at: t0.addingTimeInterval(30)) == .resume(awaySince: t0.addingTimeInterval(10)))
        #expect(machine.state == .waitingForCustomer(expiresAt: expiry))
        #expect(
            machine.participantDropped(.agent, at: expiry.addingTimeInterval(-30), until: expiry.addingTimeInterval(30))
                == .awaitReturn(until: expiry.addingTimeInterval(30))
        )
        let ending = SessionEnding(endedAt: expiry.addingTimeInterval(-30), reason: .agentLeft, outcome: nil, note: nil, traffic: .init())
        #expect(machine.tick(now: expiry.addingTimeInterval(30)) == .end(ending))
    }

    @Test("reconnect: a resume over a connection that still looks alive takes it over; a customer that never joined cannot")
    func reconnectReplaces() {
        var machine = SessionStateMachine(expiresAt: expiry)
        #expect(machine.participantReplaced(.agent) == .takeOver)
        #expect(machine.participantReplaced(.customer) == .reject)
        #expect(machine.state == .waitingForCustomer(expiresAt: expiry))
        #expect(machine.customerJoined(at: t0) == .admit)
        #expect(machine.participantReplaced(.customer) == .takeOver)
        #expect(machine.participantReplaced(.agent) == .takeOver)
        #expect(
            machine.participantDropped(.customer, at: t0.addingTimeInterval(5), until: t0.addingTimeInterval(65))
                == .awaitReturn(until: t0.addingTimeInterval(65))
        )
        #expect(machine.participantReplaced(.customer) == .takeOver)
        #expect(machine.away.isEmpty)
        #expect(machine.state == .live(customerJoinedAt: t0))
    }
}
