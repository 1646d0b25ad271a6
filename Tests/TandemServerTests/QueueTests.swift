import Foundation
import TandemClient
import TandemCore
import TandemProtocol
import Testing

@Suite("Live TLS broker: the queue (protocol/README.md §16)", .timeLimit(.minutes(2)))
struct QueueTests {
    static func isStatus(_ position: Int) -> (ControlMessage) -> QueueStatus? {
        { if case .queueStatus(let status) = $0, status.position == position { status } else { nil } }
    }

    @Test(
        "customers without a code wait by tier then time; an agent takes the next; the log has each wait; stats report the share answered within 20 s"
    )
    func tiersThenWaitingTime() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let audrey = try await broker.addUser("audrey", role: .auditor)
            let basic = LiveParticipant.connect(broker, hello: .queue(.init(ticket: "HD-Q1", tier: .basic), client: "test-basic"))
            try await basic.waitFor("position 1", Self.isStatus(1))
            // Only a signed help link (§16.1) gives a customer a tier above basic.
            let link = try await broker.api(alice) { try await $0.helpLink(HelpLinkRequest(ticket: "HD-Q2", tier: .premium)) }
            let request = try #require(try QueueAbuseTests.hello(link: link.url, mode: .camera).queue)
            let premium = LiveParticipant.connect(broker, hello: .queue(request, client: "test-premium"))
            let first = try await premium.waitFor("position 1", Self.isStatus(1))
            #expect(first.tier == .premium)
            #expect(first.line == "line1")
            // The premium customer came later but goes first.
            try await basic.waitFor("position 2", Self.isStatus(2))

            let listing = try await broker.api(alice) { try await $0.queue() }
            #expect(listing.entries.map(\.ticket) == ["HD-Q2", "HD-Q1"])
            #expect(listing.entries.map(\.position) == [1, 2])
            #expect(listing.entries.allSatisfy { $0.kind == .customer })
            let metrics = try await LimitsTests().get(broker, "/metrics")
            #expect(metrics.contains("tandem_queue_waiting 2"))
            #expect(metrics.contains(#"tandem_queue_waiting_by_tier{tier="premium"} 1"#))
            #expect(metrics.contains(#"tandem_queue_waiting_by_tier{tier="basic"} 1"#))
            #expect(metrics.contains(#"tandem_queue_waiting_by_tier{tier="standard"} 0"#))

            let agent = LiveParticipant.connect(broker, hello: .take(token: alice, .init()))
            let assigned = try await agent.waitFor("session.assigned") { if case .sessionAssigned(let assigned) = $0 { assigned } else { nil } }
            #expect(assigned.ticket == "HD-Q2")
            #expect(assigned.tier == .premium)
            #expect(assigned.mode == .camera)
            #expect(assigned.customerPresent)
            #expect(assigned.transferredFrom == nil)
            #expect(ResumeToken.isWellFormed(assigned.resumeToken))
            let joined = try await premium.waitFor("session.joined") { if case .sessionJoined(let joined) = $0 { joined } else { nil } }
            #expect(joined.agent == "alice")
            #expect(joined.sessionID == assigned.sessionID)
            try await basic.waitFor("position 1 again", Self.isStatus(1))

            // The session relays like any other.
            try await premium.send(.consent(Consent(granted: true, source: .camera)))
            try await premium.send(.streamStart(StreamStart(streamID: 1, source: .camera, codec: .jpeg, width: 64, height: 48, fps: 5)))
            try await premium.send(testFrame(stream: 1, sequence: 1, size: 5000, fill: 7))
            try await agent.waitForFrames(1)
            #expect(agent.frames.first?.payload.readableBytes == 5000)

            // The basic customer gives up; the queue is then empty for alice.
            basic.leave()
            _ = try await basic.closure.value
            var left: [AuditEvent] = []
            for _ in 0..<1500 where left.isEmpty {
                left = try await broker.store.auditEvents(since: nil, until: nil, limit: 1000).filter { $0.kind == "queue.left" }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(left.first?.detail["ticket"] == "HD-Q1")
            #expect(left.first?.detail["reason"] == "customer-left")
            #expect(left.first?.sessionID == nil)
            let nobody = LiveParticipant.connect(broker, hello: .take(token: alice, .init()))
            #expect(try await nobody.closure.value.tandemCode == .queueEmpty)
            #expect(nobody.messages.contains { if case .error(let error) = $0 { error.code == "queue-empty" } else { false } })

            try await agent.send(.sessionEnd(SessionEnd(outcome: .resolved)))
            _ = try await premium.waitFor("session.ended") { if case .sessionEnded(let ended) = $0 { ended } else { nil } }

            let events = try await broker.store.auditEvents(since: nil, until: nil, limit: 1000)
            #expect(events.filter { $0.kind == "queue.entered" }.map { $0.detail["tier"] } == ["basic", "premium"])
            let answered = try #require(events.first { $0.kind == "queue.answered" })
            #expect(answered.sessionID == assigned.sessionID)
            #expect(answered.actor == "alice")
            let waitedMs = try #require(answered.detail["waitedMs"].flatMap { Int($0) })
            #expect(waitedMs >= 0)
            // The same wait in tandem_queue_wait_seconds: one customer answered (the one who
            // left is not), in the bucket of its logged wait; no transfer.
            let metricsAfter = try await MetricsText.fetch(broker)
            let problems = metricsAfter.queueWaitProblems(kind: "customer", milliseconds: waitedMs)
            #expect(problems.isEmpty, "\(problems)")
            #expect(metricsAfter.value(#"tandem_queue_wait_seconds_count{kind="transfer"}"#) == 0)
            let withinTarget = metricsAfter.value(#"tandem_queue_wait_seconds_bucket{kind="customer",le="20.0"}"#)
            #expect(withinTarget == (waitedMs <= 20_000 ? 1 : 0))
            let record = try #require(try await broker.store.session(id: assigned.sessionID))
            #expect(record.agent == "alice")
            #expect(record.customerJoinedAt != nil)
            #expect(!record.codeIssued)

            let stats = try await broker.api(audrey) { try await $0.stats(AuditQuery()) }
            let queue = try #require(stats.queue)
            #expect(queue.entered == 2)
            #expect(queue.answered == 1)
            #expect(queue.abandoned == 1)
            // Answered within 20 s (or not, on a very slow machine) out of answered + abandoned.
            let within = waitedMs <= 20_000 ? 1 : 0
            #expect(queue.answeredWithinTarget == within)
            #expect(queue.shareAnsweredWithinTarget == Double(within) / 2)
            #expect(queue.byTier["premium"]?.answered == 1)
            #expect(queue.byTier["basic"]?.abandoned == 1)
        }
    }

    @Test(
        "bad queue requests are refused with documented codes: no ticket 4400, bad line 4400, full queue 1013, customer messages before an agent get an error"
    )
    func badRequests() async throws {
        try await LiveBroker.run(configure: { $0.maxQueueLength = 1 }) { broker in
            let badTicket = LiveParticipant.connect(broker, hello: .queue(.init(ticket: "has space", tier: .basic)))
            #expect(try await badTicket.closure.value.tandemCode == .badRequest)
            let badLine = LiveParticipant.connect(broker, hello: .queue(.init(ticket: "HD-1", tier: .basic, line: "Line 2")))
            #expect(try await badLine.closure.value.tandemCode == .badRequest)

            let waiting = LiveParticipant.connect(broker, hello: .queue(.init(ticket: "HD-1", tier: .standard)))
            try await waiting.waitFor("position 1", Self.isStatus(1))
            let full = LiveParticipant.connect(broker, hello: .queue(.init(ticket: "HD-2", tier: .premium)))
            let fullClosure = try await full.closure.value
            #expect(fullClosure.tandemCode == .tryAgainLater)
            // The close reason is the queue's, not the join-code cap's (same close code).
            #expect(fullClosure.reason == "queue full")
            #expect(full.messages.contains { if case .error(let error) = $0 { error.code == "queue-full" } else { false } })

            try await waiting.send(.chat(Chat(text: "hello?")))
            try await waiting.waitFor("queued error") { if case .error(let error) = $0, error.code == "queued" { error } else { nil } }
            // session.end leaves the queue.
            try await waiting.send(.sessionEnd(SessionEnd()))
            _ = try await waiting.closure.value
            for _ in 0..<1500 {
                if try await broker.store.auditEvents(since: nil, until: nil, limit: 100).contains(where: { $0.kind == "queue.left" }) { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(try await broker.store.auditEvents(since: nil, until: nil, limit: 100).filter { $0.kind == "queue.left" }.count == 1)
            // An auditor cannot take from the queue.
            let audrey = try await broker.addUser("audrey", role: .auditor)
            let auditor = LiveParticipant.connect(broker, hello: .take(token: audrey, .init()))
            #expect(try await auditor.closure.value.tandemCode == .forbidden)
        }
    }

    @Test("a waiting customer is told the estimated wait once its line has three ended sessions in the hour")
    func estimatedWait() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            var handled: [Double] = []
            for index in 0..<3 {
                let customer = LiveParticipant.connect(broker, hello: .queue(.init(ticket: "HD-EW\(index)", tier: .basic), client: "test"))
                let status = try await customer.waitFor("position 1", Self.isStatus(1))
                // Nothing to go on for the first three.
                #expect(status.estimatedWaitSeconds == nil)
                let agent = LiveParticipant.connect(broker, hello: .take(token: alice, .init()))
                try await agent.waitFor("session.assigned") { if case .sessionAssigned(let assigned) = $0 { assigned } else { nil } }
                let taken = Date()
                try await Task.sleep(for: .milliseconds(1200 + 400 * index))
                try await agent.send(.sessionEnd(SessionEnd(outcome: .resolved)))
                try await agent.waitFor("session.ended") { if case .sessionEnded(let ended) = $0 { ended } else { nil } }
                handled.append(Date().timeIntervalSince(taken))
            }
            let fourth = LiveParticipant.connect(broker, hello: .queue(.init(ticket: "HD-EW3", tier: .basic), client: "test"))
            let status = try await fourth.waitFor("position 1", Self.isStatus(1))
            // One agent: position 1 × the median handle time (the second session's), rounded up.
            let estimate = try #require(status.estimatedWaitSeconds)
            #expect(estimate >= 1 && Double(estimate) <= handled.sorted()[1] + 2, "\(estimate) for handle times \(handled)")
            fourth.leave()
        }
    }
}
