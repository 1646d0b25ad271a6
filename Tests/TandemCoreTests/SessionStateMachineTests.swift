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
        #expect(machine.event(.media(from: .agent, bytes: 10)) == .drop(.noPeer))
        #expect(machine.event(.control(from: .agent)) == .drop(.noPeer))
        #expect(machine.event(.tick(now: t0.addingTimeInterval(5))) == .none)
        #expect(machine.event(.customerJoined(at: t0.addingTimeInterval(30))) == .admitCustomer)
        #expect(machine.state == .live(customerJoinedAt: t0.addingTimeInterval(30)))
        #expect(machine.event(.consent(granted: true)) == .forward(to: .agent))
        #expect(machine.event(.media(from: .customer, bytes: 200_000)) == .forward(to: .agent))
        #expect(machine.event(.media(from: .customer, bytes: 100)) == .forward(to: .agent))
        #expect(machine.event(.media(from: .agent, bytes: 50)) == .forward(to: .customer))
        #expect(machine.event(.control(from: .customer)) == .forward(to: .agent))
        #expect(machine.traffic == SessionTraffic(agentToCustomer: .init(frames: 1, bytes: 50), customerToAgent: .init(frames: 2, bytes: 200_100)))
        #expect(machine.event(.tick(now: t0.addingTimeInterval(700))) == .none)
        let end = t0.addingTimeInterval(900)
        let ending = SessionEnding(endedAt: end, reason: .agentEnded, outcome: .resolved, note: "fixed", traffic: machine.traffic)
        #expect(machine.event(.endRequested(reason: .agentEnded, outcome: .resolved, note: "fixed", at: end)) == .end(ending))
        #expect(machine.state == .ended(ending))
        #expect(machine.event(.media(from: .customer, bytes: 1)) == .drop(.ended))
        #expect(machine.event(.participantLeft(.customer, at: end)) == .alreadyEnded(ending))
        #expect(machine.event(.endRequested(reason: .endedViaAPI, outcome: .unresolved, note: nil, at: end)) == .alreadyEnded(ending))
        #expect(machine.traffic.customerToAgent.frames == 2)
    }

    @Test("customer media waits for consent; a refusal or withdrawal stops it, the agent's media flows regardless")
    func consent() {
        var machine = SessionStateMachine(expiresAt: expiry)
        #expect(machine.event(.consent(granted: true)) == .drop(.noPeer))
        #expect(machine.event(.customerJoined(at: t0)) == .admitCustomer)
        #expect(machine.customerConsent == nil)
        #expect(machine.event(.media(from: .customer, bytes: 10)) == .drop(.noConsent))
        #expect(machine.event(.media(from: .agent, bytes: 10)) == .forward(to: .customer))
        #expect(machine.event(.consent(granted: false)) == .forward(to: .agent))
        #expect(machine.event(.media(from: .customer, bytes: 10)) == .drop(.noConsent))
        #expect(machine.event(.consent(granted: true)) == .forward(to: .agent))
        #expect(machine.event(.media(from: .customer, bytes: 10)) == .forward(to: .agent))
        #expect(machine.event(.consent(granted: false)) == .forward(to: .agent))
        #expect(machine.customerMayShare == false)
        #expect(machine.event(.media(from: .customer, bytes: 10)) == .drop(.noConsent))
        #expect(machine.traffic.customerToAgent.frames == 1)
    }

    @Test("a waiting session expires on the first tick at or after its expiry")
    func expires() {
        var machine = SessionStateMachine(expiresAt: expiry)
        #expect(machine.event(.tick(now: expiry.addingTimeInterval(-0.001))) == .none)
        #expect(machine.event(.tick(now: expiry)) == .end(SessionEnding(endedAt: expiry, reason: .expired, outcome: nil, note: nil, traffic: .init())))
        #expect(machine.event(.customerJoined(at: expiry)) == .rejectJoin(.codeExpired))
    }

    @Test("a customer arriving after expiry but before the sweep is refused as expired")
    func lateJoin() {
        var machine = SessionStateMachine(expiresAt: expiry)
        #expect(machine.event(.customerJoined(at: expiry)) == .rejectJoin(.codeExpired))
        #expect(machine.state == .waitingForCustomer(expiresAt: expiry))
    }

    @Test("a second customer is refused while the session is live")
    func secondCustomer() {
        var machine = SessionStateMachine(expiresAt: expiry)
        #expect(machine.event(.customerJoined(at: t0)) == .admitCustomer)
        #expect(machine.event(.customerJoined(at: t0)) == .rejectJoin(.codeUsed))
    }

    @Test("either side leaving ends the session with its end reason")
    func leaving() {
        var agentLeaves = SessionStateMachine(expiresAt: expiry)
        #expect(agentLeaves.event(.participantLeft(.agent, at: t0)) == .end(SessionEnding(endedAt: t0, reason: .agentLeft, outcome: nil, note: nil, traffic: .init())))
        var customerLeaves = SessionStateMachine(expiresAt: expiry)
        #expect(customerLeaves.event(.customerJoined(at: t0)) == .admitCustomer)
        #expect(customerLeaves.event(.participantLeft(.customer, at: t0)) == .end(SessionEnding(endedAt: t0, reason: .customerLeft, outcome: nil, note: nil, traffic: .init())))
        #expect(customerLeaves.isEnded)
    }
}
