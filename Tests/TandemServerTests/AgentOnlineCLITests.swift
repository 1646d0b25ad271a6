import Foundation
import TandemClient
import TandemCore
import TandemProtocol
import Testing

/// `tandem agent online` without `--auto-accept` (protocol/README.md §20.2): the real CLI
/// prints each offer, asks y/n, and reads the answer from its standard input (a pipe here).
@Suite("Live TLS broker: the CLI's agent online asks y/n for each offer", .timeLimit(.minutes(3)))
struct AgentOnlineCLITests {
    @Test("n declines the offer (logged, the customer keeps waiting); y takes the next offer and the CLI runs the session with the customer")
    func answerOffers() async throws {
        // An entry its only agent declined is offered to it again an offer timeout after the
        // refusal (§20.2): long enough to answer on a loaded machine, short enough to wait for.
        try await LiveBroker.run(configure: { $0.routing.offerTimeout = .seconds(8) }) { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let server = ["--server", "https://127.0.0.1:\(broker.port)", "--ca", broker.caFile]
            // --outcome: the CLI never reads an outcome from standard input when a session ends.
            let online = try CLIProcess.start(["agent", "online", "--outcome", "resolved"] + server, token: alice, in: broker.directory, input: true)
            defer { online.stop() }
            try await online.waitFor("alice is available: 0/1 sessions, lines line1")

            let customer = LiveParticipant.connect(broker, hello: .queue(.init(ticket: "HD-CLI1", tier: .basic)))
            let first = try #require(try await RoutingTests.events(broker, .queueOffered).first)
            let firstID = try #require(first.detail["offerId"])
            try await online.waitFor("offer \(firstID): HD-CLI1, basic, line1, waited")
            #expect(online.text.contains("take it? [y/n]"))
            // The CLI prints the offer just before it holds it for an answer.
            try await Task.sleep(for: .milliseconds(300))
            try online.typeLine("n")
            let refused = try #require(try await RoutingTests.events(broker, .queueOfferRefused).first)
            #expect(refused.detail["offerId"] == firstID)
            #expect(refused.detail["queueId"] == first.detail["queueId"])
            #expect(refused.detail["reason"] == "declined")
            #expect(refused.actor == "alice")
            // Declined: nobody took the customer, who keeps waiting.
            #expect(!customer.messages.contains { if case .sessionJoined = $0 { true } else { false } })
            #expect(try await broker.store.auditEvents(since: nil, until: nil, limit: 1000).filter { $0.kind == .queueAnswered }.isEmpty)

            // Offered again (alice is the only agent), and this time taken.
            let offered = try await RoutingTests.events(broker, .queueOffered, count: 2)
            let secondID = try #require(offered[1].detail["offerId"])
            #expect(secondID != firstID)
            #expect(offered[1].detail["queueId"] == first.detail["queueId"])
            #expect(offered[1].detail["agent"] == "alice")
            try await online.waitFor("offer \(secondID): HD-CLI1")
            try await Task.sleep(for: .milliseconds(300))
            try online.typeLine("y")
            let joined = try await customer.waitFor("session.joined") { if case .sessionJoined(let j) = $0 { j } else { nil } }
            #expect(joined.agent == "alice")
            try await online.waitFor("for ticket HD-CLI1 (screen), basic tier, from line1")
            let answered = try #require(try await RoutingTests.events(broker, .queueAnswered).first)
            #expect(answered.detail["offerId"] == secondID)
            #expect(answered.sessionID == joined.sessionID)
            #expect(answered.actor == "alice")
            // The session runs in the CLI: the customer's chat is shown there.
            try await customer.send(.chat(Chat(text: "hello from the queue")))
            try await online.waitFor("customer: hello from the queue")
            #expect(!online.text.contains("No offer is open."))
            #expect(!online.text.contains("withdrawn"))

            // Ended over the API: the CLI's session ends and it stays online; stopped, alice goes offline.
            _ = try await broker.api(alice) { try await $0.endSession(id: joined.sessionID, outcome: .resolved, note: nil) }
            try await customer.waitFor("session.ended") { if case .sessionEnded(let ended) = $0 { ended } else { nil } }
            try await online.waitFor("session ended:")
            online.stop()
            _ = try await online.waitForExit()
            let presence = try await RoutingTests.events(broker, .agentPresence, count: 2)
            #expect(presence.map(\.actor) == ["alice", "alice"])
            #expect(presence.map { $0.detail["state"] } == ["available", "offline"])
            customer.leave()
        }
    }
}
