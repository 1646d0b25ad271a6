import Foundation
import TandemClient
import TandemCore
import TandemProtocol
import Testing

@Suite("Live TLS broker: transfer and escalation (protocol/README.md §17)", .timeLimit(.minutes(2)))
struct TransferTests {
    /// alice's session with a customer who consented and shows its camera (stream 1).
    func liveSession(
        _ broker: LiveBroker,
        agentToken: String
    ) async throws -> (agent: LiveParticipant, customer: LiveParticipant, created: SessionCreated) {
        let agent = LiveParticipant.connect(broker, hello: .agent(token: agentToken, start: .init(ticket: "HD-T", mode: .camera)))
        let created = try await agent.waitFor("session.created") { if case .sessionCreated(let created) = $0 { created } else { nil } }
        let customer = LiveParticipant.connect(broker, hello: .customer(code: created.joinCode, client: "test-customer"))
        try await customer.waitFor("session.joined") { if case .sessionJoined(let joined) = $0 { joined } else { nil } }
        try await customer.send(.consent(Consent(granted: true, source: .camera)))
        try await customer.send(.streamStart(StreamStart(streamID: 1, source: .camera, codec: .jpeg, width: 64, height: 48, fps: 5)))
        try await agent.waitFor("stream.start") { if case .streamStart(let start) = $0 { start } else { nil } }
        return (agent, customer, created)
    }

    @Test("escalating to a line keeps the customer connected; the next agent gets the streams and overlays; both parts are on the timeline")
    func escalateToLine() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let bob = try await broker.addUser("bob", role: .agent)
            let audrey = try await broker.addUser("audrey", role: .auditor)
            let (first, customer, created) = try await liveSession(broker, agentToken: alice)
            // alice marks the port, then escalates with a note.
            let arrow = Shape(id: "port", kind: .arrow, color: "#ff3b30", points: [[0.2, 0.2], [0.6, 0.5]])
            try await first.send(.annotation(.add(arrow, owner: .customer, streamID: 1)))
            try await customer.waitFor("the arrow") { if case .annotation(let annotation) = $0 { annotation } else { nil } }
            try await first.send(.voice(Voice(enabled: true)))
            try await customer.waitFor("voice on") { if case .voice(let voice) = $0, voice.enabled { true } else { nil } }
            try await first.send(.sessionTransfer(TransferRequest(line: "line2", note: "WAN port config")))

            let handedOver = try await first.closure.value
            #expect(handedOver.tandemCode == .handedOver)
            let pending = try await first.waitFor("session.transferred") { if case .sessionTransferred(let notice) = $0 { notice } else { nil } }
            #expect(pending.state == .pending)
            #expect(pending.line == "line2")
            #expect(pending.from == "alice")
            let told = try await customer.waitFor("session.transferred") { if case .sessionTransferred(let notice) = $0 { notice } else { nil } }
            #expect(told.state == .pending)
            // The transfer turns voice off (§5.14): the next agent asks again.
            try await customer.waitFor("voice off") { if case .voice(let voice) = $0, !voice.enabled { true } else { nil } }

            // The transfer waits in line2, not line1.
            let listing = try await broker.api(bob) { try await $0.queue() }
            #expect(listing.entries.map(\.kind) == [.transfer])
            #expect(listing.entries.first?.line == "line2")
            #expect(listing.entries.first?.from == "alice")
            #expect(listing.entries.first?.note == "WAN port config")
            let wrongLine = LiveParticipant.connect(broker, hello: .take(token: bob, .init(line: "line1")))
            #expect(try await wrongLine.closure.value.tandemCode == .queueEmpty)
            // alice cannot come back with her resume token.
            let back = LiveParticipant.connect(broker, hello: .resume(try #require(created.resumeToken), role: .agent))
            #expect(try await back.closure.value.tandemCode == .resumeRefused)

            var take = Hello.take(token: bob, .init(line: "line2"))
            take.codecs = CodecList([.vp9, .opus])
            let second = LiveParticipant.connect(broker, hello: take)
            let assigned = try await second.waitFor("session.assigned") { if case .sessionAssigned(let assigned) = $0 { assigned } else { nil } }
            #expect(assigned.sessionID == created.sessionID)
            #expect(assigned.transferredFrom == "alice")
            #expect(assigned.note == "WAN port config")
            #expect(assigned.customerPresent)
            #expect(assigned.line == "line2")
            // The catch-up: the customer's camera and the arrow alice drew.
            let start = try await second.waitFor("stream.start") { if case .streamStart(let start) = $0 { start } else { nil } }
            #expect(start.streamID == 1)
            let snapshot = try await second.waitFor("overlay.snapshot") { if case .overlaySnapshot(let snapshot) = $0 { snapshot } else { nil } }
            #expect(snapshot.shapes.map(\.id) == ["port"])
            let completed = try await customer.waitFor("completed transfer") {
                if case .sessionTransferred(let notice) = $0, notice.state == .completed { notice } else { nil }
            }
            #expect(completed.agent == "bob")
            // The customer learns what bob's client decodes; bob, that the customer said nothing (images only).
            #expect(completed.codecs == CodecList([.vp9, .opus]))
            #expect(assigned.codecs == nil)

            // The customer never reconnected: its frames now reach bob.
            try await customer.send(testFrame(stream: 1, sequence: 2, size: 3000, fill: 3))
            try await second.waitForFrames(1)
            try await second.send(.sessionEnd(SessionEnd(outcome: .resolved, note: "fixed on line 2")))
            let ended = try await customer.waitFor("session.ended") { if case .sessionEnded(let ended) = $0 { ended } else { nil } }
            #expect(ended.outcome == .resolved)
            #expect(customer.messages.filter { if case .sessionJoined = $0 { true } else { false } }.count == 1)

            let record = try #require(try await broker.store.session(id: created.sessionID))
            #expect(record.agent == "bob")
            #expect(record.endedBy == "bob")
            let kinds = try await broker.store.events(sessionID: created.sessionID).map { "\($0.kind) \($0.actor ?? "-")" }
            let transferAt = try #require(kinds.firstIndex(of: "session.transferred alice"))
            let answeredAt = try #require(kinds.firstIndex(of: "transfer.answered bob"))
            #expect(transferAt < answeredAt)
            #expect(kinds.last == "session.ended bob")
            // The wait until bob took it, in tandem_queue_wait_seconds{kind="transfer"}.
            let answered = try #require(try await broker.store.events(sessionID: created.sessionID).first { $0.kind == "transfer.answered" })
            let waitedMs = try #require(answered.detail["waitedMs"].flatMap { Int($0) })
            let metrics = try await MetricsText.poll(broker) { $0.value(#"tandem_queue_wait_seconds_count{kind="transfer"}"#) == 1 }
            let problems = metrics.queueWaitProblems(kind: "transfer", milliseconds: waitedMs)
            #expect(problems.isEmpty, "\(problems)")
            #expect(metrics.value(#"tandem_queue_wait_seconds_count{kind="customer"}"#) == 0)
            let stats = try await broker.api(audrey) { try await $0.stats(AuditQuery()) }
            #expect(stats.transferred == 1)
            #expect(stats.transfers == 1)
            #expect(stats.escalationRate == 1)
        }
    }

    @Test("a transfer to a named agent over the API is taken only by that agent; bad transfers get 400, 403, 409")
    func transferToAgentOverAPI() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let bob = try await broker.addUser("bob", role: .agent)
            let carol = try await broker.addUser("carol", role: .agent)
            let audrey = try await broker.addUser("audrey", role: .auditor)
            let (first, customer, created) = try await liveSession(broker, agentToken: alice)
            let id = created.sessionID

            func status(_ token: String, _ request: TransferRequest, session: String? = nil) async throws -> Int? {
                do {
                    _ = try await broker.api(token) { try await $0.transferSession(id: session ?? id, request) }
                    return 202
                } catch let failure as TandemAPIClient.Failure {
                    return failure.status
                }
            }
            #expect(try await status(alice, TransferRequest(agent: "nobody")) == 400)
            #expect(try await status(alice, TransferRequest(line: "line2", agent: "bob")) == 400)
            #expect(try await status(alice, TransferRequest(line: "Line 2")) == 400)
            #expect(try await status(alice, TransferRequest(agent: "alice")) == 400)
            #expect(try await status(audrey, TransferRequest(agent: "bob")) == 403)
            #expect(try await status(carol, TransferRequest(agent: "bob")) == 403)
            #expect(try await status(alice, TransferRequest(agent: "bob"), session: "s_abcdefghijkmnpqr") == 409)
            #expect(try await status(alice, TransferRequest(agent: "bob", note: "over to you")) == 202)
            #expect(try await first.closure.value.tandemCode == .handedOver)
            // A second transfer while one is pending: 409.
            #expect(try await status(alice, TransferRequest(line: "line2")) == 409)

            // carol (any line) does not get bob's transfer.
            let notCarol = LiveParticipant.connect(broker, hello: .take(token: carol, .init()))
            #expect(try await notCarol.closure.value.tandemCode == .queueEmpty)
            let second = LiveParticipant.connect(broker, hello: .take(token: bob, .init(line: "line7")))
            let assigned = try await second.waitFor("session.assigned") { if case .sessionAssigned(let assigned) = $0 { assigned } else { nil } }
            #expect(assigned.sessionID == id)
            #expect(assigned.note == "over to you")
            let completed = try await customer.waitFor("completed transfer") {
                if case .sessionTransferred(let notice) = $0, notice.state == .completed { notice } else { nil }
            }
            #expect(completed.toAgent == "bob")
            try await second.send(.sessionEnd(SessionEnd(outcome: .resolved)))
            _ = try await customer.waitFor("session.ended") { if case .sessionEnded(let ended) = $0 { ended } else { nil } }
            let transferred = try await broker.store.events(sessionID: id).first { $0.kind == "session.transferred" }
            #expect(transferred?.detail["toAgent"] == "bob")
            #expect(transferred?.detail["note"] == "over to you")
        }
    }

    @Test("a transfer nobody takes ends the session as transfer-unanswered, and the customer is told")
    func unansweredTransfer() async throws {
        try await LiveBroker.run(configure: { $0.transferWait = .seconds(1) }) { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let (first, customer, created) = try await liveSession(broker, agentToken: alice)
            try await first.send(.sessionTransfer(TransferRequest(line: "line2")))
            #expect(try await first.closure.value.tandemCode == .handedOver)
            let ended = try await customer.waitFor("session.ended") { if case .sessionEnded(let ended) = $0 { ended } else { nil } }
            #expect(ended.reason == .transferUnanswered)
            let record = try #require(try await broker.store.session(id: created.sessionID))
            #expect(record.endReason == .transferUnanswered)
            #expect(record.endedBy == "broker")
            // Nothing is left in the queue.
            #expect(try await broker.api(alice) { try await $0.queue() }.entries.isEmpty)
            // Before a customer joined there is nothing to hand over.
            let waiting = LiveParticipant.connect(broker, hello: .agent(token: alice, start: .init(ticket: "HD-W", mode: .screen)))
            try await waiting.waitFor("session.created") { if case .sessionCreated(let created) = $0 { created } else { nil } }
            try await waiting.send(.sessionTransfer(TransferRequest(line: "line2")))
            try await waiting.waitFor("not-transferable") { if case .error(let error) = $0, error.code == "not-transferable" { error } else { nil } }
            waiting.leave()
        }
    }
}
