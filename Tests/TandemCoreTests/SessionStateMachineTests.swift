import Foundation
import TandemCore
import TandemProtocol
import Testing

@Suite("SessionStateMachine, step by step")
struct SessionStateMachineTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    var expiry: Date { t0.addingTimeInterval(600) }

    @Test("waiting → customer joins → relays both ways → agent ends with an outcome")
    func happyPath() {
        var machine = SessionStateMachine(expiresAt: expiry)
        #expect(machine.mediaReceived(from: .agent, bytes: 10) == .drop(.noPeer))
        #expect(machine.controlReceived(from: .agent) == .noPeer)
        #expect(machine.tick(now: t0.addingTimeInterval(5)) == .none)
        #expect(machine.customerJoined(at: t0.addingTimeInterval(30)) == .admit)
        #expect(machine.state == .live(customerJoinedAt: t0.addingTimeInterval(30)))
        #expect(machine.consentReceived(granted: true) == .forwardToAgent)
        #expect(machine.mediaReceived(from: .customer, bytes: 200_000) == .forward(to: .agent))
        #expect(machine.mediaReceived(from: .customer, bytes: 100) == .forward(to: .agent))
        #expect(machine.mediaReceived(from: .agent, bytes: 50) == .forward(to: .customer))
        #expect(machine.controlReceived(from: .customer) == .forward(to: .agent))
        #expect(machine.controlReceived(from: .agent) == .forward(to: .customer))
        #expect(machine.traffic == SessionTraffic(agentToCustomer: .init(frames: 1, bytes: 50), customerToAgent: .init(frames: 2, bytes: 200_100)))
        #expect(machine.tick(now: t0.addingTimeInterval(700)) == .none)
        let end = t0.addingTimeInterval(900)
        let ending = SessionEnding(endedAt: end, reason: .agentEnded, outcome: .resolved, note: "fixed", traffic: machine.traffic)
        #expect(machine.endRequested(reason: .agentEnded, outcome: .resolved, note: "fixed", at: end) == .end(ending))
        #expect(machine.state == .ended(ending))
        #expect(machine.mediaReceived(from: .customer, bytes: 1) == .drop(.ended))
        #expect(machine.participantLeft(.customer, at: end) == .alreadyEnded(ending))
        #expect(machine.endRequested(reason: .endedViaAPI, outcome: .unresolved, note: nil, at: end) == .alreadyEnded(ending))
        #expect(machine.traffic.customerToAgent.frames == 2)
    }

    @Test("customer media waits for consent; a refusal or withdrawal stops it, the agent's media flows regardless")
    func consent() {
        var machine = SessionStateMachine(expiresAt: expiry)
        #expect(machine.consentReceived(granted: true) == .noPeer)
        #expect(machine.customerConsent == nil)
        #expect(machine.customerJoined(at: t0) == .admit)
        #expect(machine.customerConsent == nil)
        #expect(machine.mediaReceived(from: .customer, bytes: 10) == .drop(.noConsent))
        #expect(machine.controlReceived(from: .customer) == .forward(to: .agent))
        #expect(machine.mediaReceived(from: .agent, bytes: 10) == .forward(to: .customer))
        #expect(machine.consentReceived(granted: false) == .forwardToAgent)
        #expect(machine.customerConsent == false)
        #expect(machine.mediaReceived(from: .customer, bytes: 10) == .drop(.noConsent))
        #expect(machine.consentReceived(granted: true) == .forwardToAgent)
        #expect(machine.customerMayShare)
        #expect(machine.mediaReceived(from: .customer, bytes: 10) == .forward(to: .agent))
        #expect(machine.consentReceived(granted: false) == .forwardToAgent)
        #expect(machine.customerMayShare == false)
        #expect(machine.mediaReceived(from: .customer, bytes: 10) == .drop(.noConsent))
        #expect(machine.traffic.customerToAgent.frames == 1)
        #expect(machine.traffic.agentToCustomer.frames == 1)
    }

    @Test("a waiting session expires on the first tick at or after its expiry; its code is then refused as expired")
    func expires() {
        var machine = SessionStateMachine(expiresAt: expiry)
        #expect(machine.tick(now: expiry.addingTimeInterval(-0.001)) == .none)
        let ending = SessionEnding(endedAt: expiry, reason: .expired, outcome: nil, note: nil, traffic: .init())
        #expect(machine.tick(now: expiry) == .end(ending))
        #expect(machine.isEnded)
        #expect(machine.tick(now: expiry.addingTimeInterval(1)) == .none)
        #expect(machine.customerJoined(at: expiry) == .reject(.codeExpired))
        #expect(machine.state == .ended(ending))
    }

    @Test("a customer arriving after expiry but before the sweep is refused as expired")
    func lateJoin() {
        var machine = SessionStateMachine(expiresAt: expiry)
        #expect(machine.customerJoined(at: expiry) == .reject(.codeExpired))
        #expect(machine.state == .waitingForCustomer(expiresAt: expiry))
    }

    @Test("a second customer is refused while the session is live")
    func secondCustomer() {
        var machine = SessionStateMachine(expiresAt: expiry)
        #expect(machine.customerJoined(at: t0) == .admit)
        #expect(machine.customerJoined(at: t0) == .reject(.codeUsed))
        #expect(machine.state == .live(customerJoinedAt: t0))
    }

    @Test("either side leaving ends the session with its end reason")
    func leaving() {
        var agentLeaves = SessionStateMachine(expiresAt: expiry)
        #expect(
            agentLeaves.participantLeft(.agent, at: t0)
                == .end(SessionEnding(endedAt: t0, reason: .agentLeft, outcome: nil, note: nil, traffic: .init()))
        )
        #expect(agentLeaves.isEnded)
        var customerLeaves = SessionStateMachine(expiresAt: expiry)
        #expect(customerLeaves.customerJoined(at: t0) == .admit)
        #expect(
            customerLeaves.participantLeft(.customer, at: t0)
                == .end(SessionEnding(endedAt: t0, reason: .customerLeft, outcome: nil, note: nil, traffic: .init()))
        )
        #expect(customerLeaves.isEnded)
    }

    @Test("the agent may end a session before anyone joined; its code is then refused as expired")
    func endedWhileWaiting() {
        var machine = SessionStateMachine(expiresAt: expiry)
        let ending = SessionEnding(endedAt: t0, reason: .agentEnded, outcome: .abandoned, note: nil, traffic: .init())
        #expect(machine.endRequested(reason: .agentEnded, outcome: .abandoned, note: nil, at: t0) == .end(ending))
        #expect(machine.state == .ended(ending))
        #expect(machine.customerJoined(at: t0.addingTimeInterval(1)) == .reject(.codeExpired))
    }

    @Test("a customer taken from the queue is in from the start: no code to redeem or expire, consent still needed")
    func queuedCustomer() {
        var machine = SessionStateMachine(customerJoinedAt: t0)
        #expect(machine.state == .live(customerJoinedAt: t0))
        #expect(machine.isEnded == false)
        #expect(machine.customerJoined(at: t0) == .reject(.codeUsed))
        #expect(machine.mediaReceived(from: .customer, bytes: 10) == .drop(.noConsent))
        #expect(machine.mediaReceived(from: .agent, bytes: 10) == .forward(to: .customer))
        #expect(machine.controlReceived(from: .customer) == .forward(to: .agent))
        #expect(machine.consentReceived(granted: true) == .forwardToAgent)
        #expect(machine.mediaReceived(from: .customer, bytes: 10) == .forward(to: .agent))
        #expect(machine.tick(now: t0.addingTimeInterval(86_400)) == .none)
        #expect(machine.state == .live(customerJoinedAt: t0))
    }

    @Test("after the end every input is refused or answered with the one ending, and nothing changes")
    func afterTheEnd() {
        var machine = SessionStateMachine(expiresAt: expiry)
        #expect(machine.customerJoined(at: t0) == .admit)
        #expect(machine.consentReceived(granted: true) == .forwardToAgent)
        #expect(machine.mediaReceived(from: .customer, bytes: 10) == .forward(to: .agent))
        let end = t0.addingTimeInterval(60)
        let ending = SessionEnding(endedAt: end, reason: .customerLeft, outcome: nil, note: nil, traffic: machine.traffic)
        #expect(machine.endRequested(reason: .customerLeft, outcome: nil, note: nil, at: end) == .end(ending))
        let later = end.addingTimeInterval(1)
        #expect(machine.customerJoined(at: later) == .reject(.codeExpired))
        #expect(machine.tick(now: later) == .none)
        #expect(machine.mediaReceived(from: .customer, bytes: 10) == .drop(.ended))
        #expect(machine.mediaReceived(from: .agent, bytes: 10) == .drop(.ended))
        #expect(machine.controlReceived(from: .customer) == .ended)
        #expect(machine.controlReceived(from: .agent) == .ended)
        #expect(machine.consentReceived(granted: false) == .ended)
        #expect(machine.customerConsent == true)
        #expect(machine.endRequested(reason: .agentEnded, outcome: .resolved, note: "late", at: later) == .alreadyEnded(ending))
        #expect(machine.participantLeft(.agent, at: later) == .alreadyEnded(ending))
        #expect(machine.participantDropped(.agent, at: later, until: later.addingTimeInterval(60)) == .alreadyEnded(ending))
        #expect(machine.participantReturned(.agent, at: later) == .reject)
        #expect(machine.participantReplaced(.customer) == .reject)
        #expect(machine.transferRequested(at: later, until: later.addingTimeInterval(300)) == .reject)
        #expect(machine.agentAssigned(at: later) == .reject)
        #expect(machine.away.isEmpty)
        #expect(machine.transfer == nil)
        #expect(machine.traffic.customerToAgent.frames == 1)
        #expect(machine.state == .ended(ending))
    }
}
