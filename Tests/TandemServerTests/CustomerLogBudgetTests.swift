import Foundation
import TandemCore
import TandemProtocol
import TandemServer
import Testing

/// The attack: an anonymous customer toggles its consent as fast as the control rate lets it,
/// to fill the audit log. Its logged messages are held to `customerLoggedRate`
/// (protocol/README.md §13): the excess is refused with `rate-limited`, neither relayed nor
/// logged, the session goes on, and nothing logged before is lost.
@Suite("Live TLS broker: a customer's logged messages have a budget", .timeLimit(.minutes(1)))
struct CustomerLogBudgetTests {
    @Test("200 consent toggles write at most twice the burst plus the rate; the rest get rate-limited; the session goes on")
    func consentFlood() async throws {
        try await LiveBroker.run(configure: { $0.limits.customerLoggedRate = RateLimit(perSecond: 2, burst: 10) }) { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let agent = LiveParticipant.connect(broker, hello: .agent(token: alice, start: .init(ticket: "HD-FLOOD", mode: .camera)))
            let created = try await agent.waitFor("session.created") { if case .sessionCreated(let created) = $0 { created } else { nil } }
            let customer = LiveParticipant.connect(broker, hello: .customer(code: created.joinCode))
            try await customer.waitFor("session.joined") { if case .sessionJoined = $0 { true } else { nil } }
            let started = Date()
            for index in 0..<200 {
                try await customer.send(.consent(Consent(granted: index % 2 == 0, source: .camera)))
            }
            // The last refusal arrived: everything before it was acted on or refused.
            try await customer.waitFor("refusals") { _ in
                let refused = customer.messages.filter { if case .error(let error) = $0 { error.code == .rateLimited } else { false } }
                return refused.count >= 150 ? true : nil
            }
            let elapsed = Date().timeIntervalSince(started)
            // The session goes on: chat still flows, and a logged message passes again once the budget refills.
            try await customer.send(.chat(Chat(text: "still here")))
            try await agent.waitFor("chat") { if case .chat(let chat) = $0, chat.text == "still here" { true } else { nil } }
            try await Task.sleep(for: .seconds(1))
            try await customer.send(.consent(Consent(granted: true, source: .camera)))
            try await agent.send(.sessionEnd(SessionEnd(outcome: .resolved)))
            try await agent.waitFor("session.ended") { if case .sessionEnded = $0 { true } else { nil } }

            let events = try await broker.store.events(sessionID: created.sessionID)
            let consents = events.filter { $0.kind == .consentGranted || $0.kind == .consentDenied }.count
            // Grants the budget let through, and as many withdrawals (never refused, each needs a grant).
            let allowed = 2 * (10 + Int((elapsed + 1.5) * 2) + 1)
            #expect(consents <= allowed, "\(consents) consent entries in \(elapsed) s")
            #expect(consents >= 10)
            let refusal = customer.messages.compactMap { if case .error(let error) = $0, error.code == .rateLimited { error } else { nil } }.first
            #expect(refusal?.message.contains("nothing was changed or logged") == true)
            // What was logged before the flood is there, in order, and the session ended normally.
            #expect(events.map(\.kind).prefix(2) == [.sessionCreated, .customerJoined])
            #expect(events.last?.kind == .sessionEnded)
            // The agent saw only the consents that were logged.
            let relayed = agent.messages.filter { if case .consent = $0 { true } else { false } }.count
            #expect(relayed == consents)
        }
    }

    @Test("with the budget spent, taking consent back still goes through; a \"no\" that withdraws nothing does not")
    func withdrawalIsNeverRefused() async throws {
        try await LiveBroker.run(configure: { $0.limits.customerLoggedRate = RateLimit(perSecond: 0.001, burst: 3) }) { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let agent = LiveParticipant.connect(broker, hello: .agent(token: alice, start: .init(ticket: "HD-WITHDRAW", mode: .camera)))
            let created = try await agent.waitFor("session.created") { if case .sessionCreated(let created) = $0 { created } else { nil } }
            let customer = LiveParticipant.connect(broker, hello: .customer(code: created.joinCode))
            try await customer.waitFor("session.joined") { if case .sessionJoined = $0 { true } else { nil } }
            for _ in 0..<4 { try await customer.send(.consent(Consent(granted: true, source: .camera))) }
            try await customer.waitFor("the fourth refused") { if case .error(let error) = $0, error.code == .rateLimited { true } else { nil } }
            try await customer.send(.consent(Consent(granted: false, source: .camera)))
            try await agent.waitFor("the withdrawal") { if case .consent(let consent) = $0, !consent.granted { true } else { nil } }
            try await customer.send(.consent(Consent(granted: false, source: .camera)))
            try await customer.waitFor("a second refusal") { _ in
                customer.messages.filter { if case .error(let error) = $0 { error.code == .rateLimited } else { false } }.count >= 2 ? true : nil
            }
            let events = try await broker.store.events(sessionID: created.sessionID)
            #expect(events.filter { $0.kind == .consentGranted }.count == 3)
            #expect(events.filter { $0.kind == .consentDenied }.map { $0.detail["withdrawn"] } == ["true"])
        }
    }
}
