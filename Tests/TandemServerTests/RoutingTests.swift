import Foundation
import TandemClient
import TandemCore
import TandemProtocol
import Testing

/// Agents online and offers (protocol/README.md §20.1–§20.3) on a real TLS broker.
@Suite("Live TLS broker: presence, offers and overflow (protocol/README.md §20)", .timeLimit(.minutes(3)))
struct RoutingTests {
    static func offer(_ message: ControlMessage) -> QueueOffer? {
        if case .queueOffer(let offer) = message { offer } else { nil }
    }

    static func status(_ state: AgentState, sessions: Int? = nil) -> (ControlMessage) -> PresenceStatus? {
        { if case .presenceStatus(let status) = $0, status.state == state, sessions.map({ $0 == status.sessions }) ?? true { status } else { nil } }
    }

    /// Waits until the log has `count` events of `kind`, and returns them.
    static func events(_ broker: LiveBroker, _ kind: AuditEventKind, count: Int = 1) async throws -> [AuditEvent] {
        for _ in 0..<1500 {
            let found = try await broker.store.auditEvents(since: nil, until: nil, limit: 10_000).filter { $0.kind == kind }
            if found.count >= count { return found }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("fewer than \(count) \(kind.rawValue) events")
    }

    @Test("the least busy available agent is offered each customer; accepting takes exactly it; a decline moves it on and is logged")
    func leastBusyAndDecline() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let bob = try await broker.addUser("bob", role: .agent)
            let aliceDesk = LiveParticipant.connect(broker, hello: .presence(token: alice, Presence(state: .available, maxSessions: 2)))
            let welcome = try await aliceDesk.waitFor("alice's presence.status", Self.status(.available))
            #expect(welcome.name == "alice")
            #expect(welcome.lines == ["line1"])
            #expect(welcome.maxSessions == 2)
            #expect(welcome.sessions == 0)
            // Bob comes online later: with both idle, alice (idle longest) is offered first.
            try await Task.sleep(for: .milliseconds(50))
            let bobDesk = LiveParticipant.connect(broker, hello: .presence(token: bob, Presence(state: .available)))
            try await bobDesk.waitFor("bob's presence.status", Self.status(.available))

            let first = LiveParticipant.connect(broker, hello: .queue(.init(ticket: "HD-R1", tier: .basic)))
            let offer1 = try await aliceDesk.waitFor("an offer to alice", Self.offer)
            #expect(offer1.ticket == "HD-R1")
            #expect(offer1.kind == .customer)
            #expect(offer1.line == "line1")
            #expect(offer1.until > Date())
            #expect(!bobDesk.messages.contains { Self.offer($0) != nil })
            let session1 = LiveParticipant.connect(broker, hello: .take(token: alice, .init(offer: offer1.offerID)))
            let assigned = try await session1.waitFor("session.assigned") { if case .sessionAssigned(let a) = $0 { a } else { nil } }
            #expect(assigned.ticket == "HD-R1")
            try await first.waitFor("session.joined") { if case .sessionJoined(let j) = $0 { j } else { nil } }
            try await aliceDesk.waitFor("alice at 1 session", Self.status(.available, sessions: 1))

            // Bob has no session, alice one: bob is less busy.
            let second = LiveParticipant.connect(broker, hello: .queue(.init(ticket: "HD-R2", tier: .basic)))
            let offer2 = try await bobDesk.waitFor("an offer to bob", Self.offer)
            #expect(offer2.ticket == "HD-R2")
            try await bobDesk.send(.queueDecline(OfferReference(offerID: offer2.offerID)))
            // Declined: it moves on to alice, who has room for a second session.
            let offer3 = try await aliceDesk.waitFor("HD-R2 offered to alice") { message in
                Self.offer(message).flatMap { $0.ticket == "HD-R2" ? $0 : nil }
            }
            #expect(offer3.offerID != offer2.offerID)
            // Bob's declined offer can no longer be taken.
            let late = LiveParticipant.connect(broker, hello: .take(token: bob, .init(offer: offer2.offerID)))
            #expect(try await late.closure.value.tandemCode == .queueEmpty)
            #expect(late.messages.contains { if case .error(let error) = $0 { error.code == .offerGone } else { false } })
            let session2 = LiveParticipant.connect(broker, hello: .take(token: alice, .init(offer: offer3.offerID)))
            try await session2.waitFor("session.assigned") { if case .sessionAssigned(let a) = $0, a.ticket == "HD-R2" { a } else { nil } }
            try await second.waitFor("session.joined") { if case .sessionJoined(let j) = $0 { j } else { nil } }
            try await aliceDesk.waitFor("alice busy at 2 of 2", Self.status(.busy, sessions: 2))

            let list = try await broker.api(bob) { try await $0.agents() }
            #expect(list.agents.map(\.name) == ["alice", "bob"])
            #expect(list.agents.map(\.state) == [.busy, .available])
            #expect(list.agents.first?.sessions == 2)
            let metrics = try await MetricsText.fetch(broker)
            #expect(metrics.value(#"tandem_agents{state="busy"}"#) == 1)
            #expect(metrics.value(#"tandem_agents{state="available"}"#) == 1)
            #expect(metrics.value(#"tandem_queue_offers_total{result="made"}"#) == 3)
            #expect(metrics.value(#"tandem_queue_offers_total{result="declined"}"#) == 1)
            #expect(metrics.value(#"tandem_queue_decided_total{result="answered-within-target"}"#) == 2)
            #expect(metrics.value(#"tandem_queue_offer_latency_seconds_count"#) == 3)

            let offered = try await Self.events(broker, .queueOffered, count: 3)
            #expect(offered.map { $0.detail["agent"] } == ["alice", "bob", "alice"])
            #expect(offered.allSatisfy { $0.actor == "system" && $0.sessionID == nil })
            let refused = try await Self.events(broker, .queueOfferRefused)
            #expect(refused.first?.detail["reason"] == "declined")
            #expect(refused.first?.detail["agent"] == "bob")
            #expect(refused.first?.detail["offerId"] == offer2.offerID)
            let answered = try await Self.events(broker, .queueAnswered, count: 2)
            #expect(answered.map { $0.detail["offerId"] } == [offer1.offerID, offer3.offerID])

            // Going offline is logged; the sessions go on.
            bobDesk.leave()
            let presence = try await Self.events(broker, .agentPresence, count: 3)
            #expect(presence.map(\.actor) == ["alice", "bob", "bob"])
            #expect(presence.map { $0.detail["state"] } == ["available", "available", "offline"])
            #expect(presence.first?.detail["maxSessions"] == "2")
        }
    }

    @Test("a customer whose help link asks for a skill is offered only to an agent who has it")
    func skills() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let bob = try await broker.addUser("bob", role: .agent)
            let generalist = LiveParticipant.connect(broker, hello: .presence(token: alice, Presence(state: .available)))
            try await generalist.waitFor("alice online", Self.status(.available))
            let link = try await broker.api(alice) { try await $0.helpLink(HelpLinkRequest(ticket: "HD-S1", tier: .standard, skills: ["router"])) }
            #expect(link.skills == ["router"])
            #expect(link.url.contains("skills=router&sig="))
            let request = try #require(try QueueAbuseTests.hello(link: link.url, mode: .camera).queue)
            #expect(request.skills == ["router"])
            let customer = LiveParticipant.connect(broker, hello: .queue(request))
            try await customer.waitFor("queue.status") { if case .queueStatus(let s) = $0 { s } else { nil } }
            // Nobody with the skill: nobody is offered it.
            try await Task.sleep(for: .milliseconds(1500))
            #expect(!generalist.messages.contains { Self.offer($0) != nil })
            let expert = LiveParticipant.connect(broker, hello: .presence(token: bob, Presence(state: .available, skills: ["router", "tv"])))
            let offer = try await expert.waitFor("an offer to the expert", Self.offer)
            #expect(offer.skills == ["router"])
            #expect(offer.tier == .standard)
            #expect(!generalist.messages.contains { Self.offer($0) != nil })
            let entered = try await Self.events(broker, .queueEntered)
            #expect(entered.first?.detail["skills"] == "router")

            // Skills claimed without a signed link are ignored (the customer waits as basic, for anyone).
            let unsigned = LiveParticipant.connect(broker, hello: .queue(.init(ticket: "HD-S2", tier: .premium, skills: ["tv"])))
            let plain = try await generalist.waitFor("an offer to alice") { Self.offer($0).flatMap { $0.ticket == "HD-S2" ? $0 : nil } }
            #expect(plain.skills.isEmpty)
            #expect(plain.tier == .basic)
            unsigned.leave()
            try await generalist.waitFor("the offer withdrawn") { message in
                if case .queueWithdrawn(let withdrawn) = message, withdrawn.offerID == plain.offerID { withdrawn.reason } else { nil }
            }
            // A link whose skills were changed after signing is refused.
            var forged = try #require(try QueueAbuseTests.hello(link: link.url, mode: .camera).queue)
            forged.skills = ["tv"]
            let refused = LiveParticipant.connect(broker, hello: .queue(forged))
            #expect(try await refused.closure.value.tandemCode == .helpLinkRefused)
        }
    }

    @Test("an offer nobody answers moves on after the offer timeout; the agent is set away and told; the log says timeout")
    func offerTimeout() async throws {
        // Long enough that the offer's own audit write (slow when the whole suite runs in
        // parallel on two cores) finishes well before it times out, and that bob's offer is
        // still open when alice pulls.
        try await LiveBroker.run(configure: { $0.routing.offerTimeout = .seconds(6) }) { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let bob = try await broker.addUser("bob", role: .agent)
            let absent = LiveParticipant.connect(broker, hello: .presence(token: alice, Presence(state: .available)))
            try await absent.waitFor("alice online", Self.status(.available))
            let customer = LiveParticipant.connect(broker, hello: .queue(.init(ticket: "HD-T1", tier: .basic)))
            let first = try await absent.waitFor("an offer to alice", Self.offer)
            let away = try await absent.waitFor("alice set away", Self.status(.away))
            #expect(away.reason == "missed-offer")
            let withdrawn = try await absent.waitFor("queue.withdrawn") { if case .queueWithdrawn(let w) = $0 { w } else { nil } }
            #expect(withdrawn.offerID == first.offerID)
            #expect(withdrawn.reason == .timeout)
            // Away agents get no offers; bob does.
            let present = LiveParticipant.connect(broker, hello: .presence(token: bob, Presence(state: .available)))
            let second = try await present.waitFor("an offer to bob", Self.offer)
            #expect(second.queueID == first.queueID)
            #expect(absent.messages.compactMap(Self.offer).count == 1)
            let refused = try await Self.events(broker, .queueOfferRefused)
            #expect(refused.first?.detail["reason"] == "timeout")
            let presence = try await Self.events(broker, .agentPresence, count: 3)
            #expect(presence.contains { $0.actor == "alice" && $0.detail["state"] == "away" && $0.detail["reason"] == "missed-offer" })
            // Alice comes back; a pull (plain take) by her takes the entry offered to bob, whose offer is withdrawn.
            try await absent.send(.presenceSet(Presence(state: .available)))
            try await absent.waitFor("alice available again") { message in
                if case .presenceStatus(let s) = message, s.state == .available, s.reason == nil,
                    absent.messages.contains(where: { Self.status(.away)($0) != nil })
                {
                    s
                } else {
                    nil
                }
            }
            let pull = LiveParticipant.connect(broker, hello: .take(token: alice, .init()))
            try await pull.waitFor("session.assigned") { if case .sessionAssigned(let a) = $0 { a } else { nil } }
            let taken = try await present.waitFor("bob's offer withdrawn") { if case .queueWithdrawn(let w) = $0 { w } else { nil } }
            #expect(taken.reason == .taken)
            try await customer.waitFor("session.joined") { if case .sessionJoined(let j) = $0 { j } else { nil } }
        }
    }

    @Test("a customer waiting past the target overflows to the next line once, is told its new line, and the log says so")
    func overflow() async throws {
        try await LiveBroker.run(configure: {
            $0.routing.queueTarget = .seconds(1)
            $0.routing.overflow = ["line1": "line2"]
        }) { broker in
            let bob = try await broker.addUser("bob", role: .agent)
            let customer = LiveParticipant.connect(broker, hello: .queue(.init(ticket: "HD-O1", tier: .basic)))
            try await customer.waitFor("queue.status in line1") { if case .queueStatus(let s) = $0, s.line == "line1" { s } else { nil } }
            let moved = try await customer.waitFor("queue.status in line2") { if case .queueStatus(let s) = $0, s.line == "line2" { s } else { nil } }
            #expect(moved.position == 1)
            let overflowed = try await Self.events(broker, .queueOverflowed)
            #expect(overflowed.first?.detail["from"] == "line1")
            #expect(overflowed.first?.detail["to"] == "line2")
            #expect((overflowed.first?.detail["waitedMs"]).flatMap { Int($0) }.map { $0 >= 1000 } == true)
            let desk = LiveParticipant.connect(broker, hello: .presence(token: bob, Presence(state: .available, lines: ["line2"])))
            let offer = try await desk.waitFor("an offer in line2", Self.offer)
            #expect(offer.line == "line2")
            #expect(try await MetricsText.fetch(broker).value("tandem_queue_overflows_total") == 1)
            // Once only: it stays in line2.
            try await Task.sleep(for: .milliseconds(1500))
            #expect(try await broker.store.auditEvents(since: nil, until: nil, limit: 1000).filter { $0.kind == .queueOverflowed }.count == 1)
        }
    }

    @Test(
        "presence: a newer connection replaces the older (4412); bad presence is refused (4400); changes beyond the hour's budget apply but are not logged"
    )
    func presenceRules() async throws {
        try await LiveBroker.run(configure: { $0.routing.presenceLogsPerHour = 3 }) { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let audrey = try await broker.addUser("audrey", role: .auditor)
            let first = LiveParticipant.connect(broker, hello: .presence(token: alice, Presence(state: .available)))
            try await first.waitFor("online", Self.status(.available))
            let second = LiveParticipant.connect(broker, hello: .presence(token: alice, Presence(state: .away)))
            try await second.waitFor("away", Self.status(.away))
            #expect(try await first.closure.value.tandemCode == .replaced)
            // Budget 3: online, away (the replacement), available; the fourth change is not logged.
            try await second.send(.presenceSet(Presence(state: .available)))
            try await second.waitFor("available", Self.status(.available))
            try await second.send(.presenceSet(Presence(state: .away, skills: ["tv"])))
            try await second.waitFor("presence-throttled") { if case .error(let e) = $0, e.code == .presenceThrottled { e } else { nil } }
            let status = try await second.waitFor("away with tv") { if case .presenceStatus(let s) = $0, s.skills == ["tv"] { s } else { nil } }
            #expect(status.state == .away)
            #expect(try await broker.store.auditEvents(since: nil, until: nil, limit: 100).filter { $0.kind == .agentPresence }.count == 3)
            // Out of range, and from roles that take no sessions.
            let tooMany = LiveParticipant.connect(broker, hello: .presence(token: alice, Presence(state: .available, maxSessions: 9)))
            #expect(try await tooMany.closure.value.tandemCode == .badRequest)
            let busy = LiveParticipant.connect(broker, hello: .presence(token: alice, Presence(state: .busy)))
            #expect(try await busy.closure.value.tandemCode == .badRequest)
            let auditor = LiveParticipant.connect(broker, hello: .presence(token: audrey, Presence(state: .available)))
            #expect(try await auditor.closure.value.tandemCode == .forbidden)
            // A presence connection accepts presence.set and queue.decline only.
            try await second.send(.chat(Chat(text: "hello")))
            try await second.waitFor("unexpected-message") { if case .error(let e) = $0, e.code == .unexpectedMessage { e } else { nil } }
            try await second.send(.presenceSet(Presence(state: .available, lines: [])))
            try await second.waitFor("invalid-field") { if case .error(let e) = $0, e.code == .invalidField { e } else { nil } }
            try await second.send(.queueDecline(OfferReference(offerID: "o_nothing")))
            try await second.waitFor("offer-gone") { if case .error(let e) = $0, e.code == .offerGone { e } else { nil } }
            // Going offline is always logged, budget or not.
            second.leave()
            let presence = try await Self.events(broker, .agentPresence, count: 4)
            #expect(presence.last?.detail["state"] == "offline")
        }
    }

    @Test("transfer reasons: a reason outside the configured list is refused, one in it is logged and reaches agents in presence.status")
    func transferReasons() async throws {
        try await LiveBroker.run(configure: { $0.routing.transferReasons = ["hardware", "language"] }) { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let desk = LiveParticipant.connect(broker, hello: .presence(token: alice, Presence(state: .away)))
            let status = try await desk.waitFor("presence.status", Self.status(.away))
            #expect(status.transferReasons == ["hardware", "language"])
            let agent = LiveParticipant.connect(broker, hello: .agent(token: alice, start: .init(ticket: "HD-X1", mode: .screen)))
            let created = try await agent.waitFor("session.created") { if case .sessionCreated(let c) = $0 { c } else { nil } }
            let customer = LiveParticipant.connect(broker, hello: .customer(code: created.joinCode))
            try await customer.waitFor("session.joined") { if case .sessionJoined(let j) = $0 { j } else { nil } }
            try await agent.waitFor("peer.joined") { if case .peerJoined(let p) = $0 { p } else { nil } }
            try await agent.send(.sessionTransfer(TransferRequest(line: "line2", reason: "billing")))
            let refusal = try await agent.waitFor("invalid-transfer") { if case .error(let e) = $0, e.code == .invalidTransfer { e } else { nil } }
            #expect(refusal.message.contains("hardware, language"))
            try await agent.send(.supervisorRequest(SupervisorRequest(note: "customer asks for a manager")))
            try await agent.send(.sessionTransfer(TransferRequest(line: "line2", note: "router model X", reason: "hardware")))
            let transferred = try await Self.events(broker, .sessionTransferred)
            #expect(transferred.first?.detail["reason"] == "hardware")
            let requested = try await Self.events(broker, .supervisorRequested)
            #expect(requested.first?.detail["note"] == "customer asks for a manager")
            #expect(requested.first?.actor == "alice")
        }
    }

    @Test("a reloaded presence connection gets its open offer again; going away declines it at once; a transfer is not offered back to its sender")
    func reloadAwayAndTransferBack() async throws {
        try await LiveBroker.run(configure: {
            $0.routing.offerTimeout = .seconds(30)
            // A customer who leaves ends the session at once.
            $0.reconnectGrace = .zero
        }) { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let bob = try await broker.addUser("bob", role: .agent)
            let first = LiveParticipant.connect(broker, hello: .presence(token: alice, Presence(state: .available)))
            try await first.waitFor("online", Self.status(.available))
            let customer = LiveParticipant.connect(broker, hello: .queue(.init(ticket: "HD-RL1", tier: .basic)))
            let offer = try await first.waitFor("an offer", Self.offer)
            // The console reloads: the new connection gets the same open offer.
            let second = LiveParticipant.connect(broker, hello: .presence(token: alice, Presence(state: .available)))
            let again = try await second.waitFor("the offer again", Self.offer)
            #expect(again.offerID == offer.offerID)
            #expect(try await first.closure.value.tandemCode == .replaced)
            // Away: declined at once, not after the 30 s timeout.
            try await second.send(.presenceSet(Presence(state: .away)))
            let refused = try await Self.events(broker, .queueOfferRefused)
            #expect(refused.first?.detail["reason"] == "declined")
            // Bob takes it, hands it to line1 again: it is offered to alice, never back to bob.
            let bobDesk = LiveParticipant.connect(broker, hello: .presence(token: bob, Presence(state: .available)))
            let bobOffer = try await bobDesk.waitFor("bob's offer", Self.offer)
            let session = LiveParticipant.connect(broker, hello: .take(token: bob, .init(offer: bobOffer.offerID)))
            try await session.waitFor("assigned") { if case .sessionAssigned(let a) = $0 { a } else { nil } }
            try await customer.waitFor("joined") { if case .sessionJoined(let j) = $0 { j } else { nil } }
            try await session.send(.sessionTransfer(TransferRequest(line: "line1", note: "second opinion")))
            _ = try await session.closure.value
            try await Task.sleep(for: .milliseconds(1500))
            #expect(bobDesk.messages.compactMap(Self.offer).count == 1)
            try await second.send(.presenceSet(Presence(state: .available)))
            let transfer = try await second.waitFor("the transfer offered to alice") { message in
                Self.offer(message).flatMap { $0.kind == .transfer ? $0 : nil }
            }
            #expect(transfer.from == "bob")
            #expect(transfer.note == "second opinion")
            // The session ends while the offer is open: the offer is withdrawn.
            customer.leave()
            let withdrawn = try await second.waitFor("withdrawn") { message in
                if case .queueWithdrawn(let w) = message, w.offerID == transfer.offerID { w } else { nil }
            }
            #expect(withdrawn.reason == .customerLeft)
        }
    }

    @Test("offers go out by tier: of two customers waiting while nobody is online, the premium one who came later is offered first")
    func tierOrder() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let basic = LiveParticipant.connect(broker, hello: .queue(.init(ticket: "HD-P1", tier: .basic)))
            try await basic.waitFor("position 1", QueueTests.isStatus(1))
            // Only a signed help link gives a tier above basic (§16.1).
            let link = try await broker.api(alice) { try await $0.helpLink(HelpLinkRequest(ticket: "HD-P2", tier: .premium)) }
            let request = try QueueAbuseTests.hello(link: link.url)
            let premium = LiveParticipant.connect(broker, hello: request)
            let status = try await premium.waitFor("position 1", QueueTests.isStatus(1))
            #expect(status.tier == .premium)
            try await basic.waitFor("position 2", QueueTests.isStatus(2))

            // Alice comes online with room for two: her first offer is the premium customer.
            let desk = LiveParticipant.connect(broker, hello: .presence(token: alice, Presence(state: .available, maxSessions: 2)))
            let first = try await desk.waitFor("alice's first offer", Self.offer)
            #expect(first.ticket == "HD-P2")
            #expect(first.tier == .premium)
            let session = LiveParticipant.connect(broker, hello: .take(token: alice, .init(offer: first.offerID)))
            let assigned = try await session.waitFor("session.assigned") { if case .sessionAssigned(let a) = $0 { a } else { nil } }
            #expect(assigned.ticket == "HD-P2")
            try await premium.waitFor("session.joined") { if case .sessionJoined(let j) = $0 { j } else { nil } }
            // Then the basic one, who waited longer.
            let second = try await desk.waitFor("alice's second offer") { message in
                Self.offer(message).flatMap { $0.offerID != first.offerID ? $0 : nil }
            }
            #expect(second.ticket == "HD-P1")
            #expect(second.tier == .basic)
            let offered = try await Self.events(broker, .queueOffered, count: 2)
            #expect(offered.map { $0.detail["tier"] } == ["premium", "basic"])
            #expect(offered.map { $0.detail["offerId"] } == [first.offerID, second.offerID])
            basic.leave()
        }
    }

    /// `tandem_queue_waiting_by_line` for line1, line2 and `other`, by tier ("line2/premium"); absent series are left out.
    static func countsByLine(_ metrics: MetricsText) -> [String: Double] {
        var counts: [String: Double] = [:]
        for line in ["line1", "line2", "other"] {
            for tier in SupportTier.allCases {
                counts["\(line)/\(tier.rawValue)"] = metrics.value(#"tandem_queue_waiting_by_line{line="\#(line)",tier="\#(tier.rawValue)"}"#)
            }
        }
        return counts
    }

    /// Every line and tier of ``countsByLine(_:)`` at 0 but those in `waiting`.
    static func expectedByLine(_ waiting: [String: Double]) -> [String: Double] {
        var counts: [String: Double] = [:]
        for line in ["line1", "line2", "other"] {
            for tier in SupportTier.allCases { counts["\(line)/\(tier.rawValue)"] = waiting["\(line)/\(tier.rawValue)"] ?? 0 }
        }
        return counts
    }

    @Test("tandem_queue_waiting_by_line counts the waiting customers per line and tier (a line no agent answers as other), and drops to 0 as they go")
    func waitingByLine() async throws {
        try await LiveBroker.run(configure: { $0.maxQueueEntriesPerNetwork = 8 }) { broker in
            let bob = try await broker.addUser("bob", role: .agent)
            // Away: offered nothing, but the lines he answers are labels.
            let desk = LiveParticipant.connect(broker, hello: .presence(token: bob, Presence(state: .away, lines: ["line1", "line2"])))
            try await desk.waitFor("bob away", Self.status(.away))
            let plain = LiveParticipant.connect(broker, hello: .queue(.init(ticket: "HD-M1", tier: .basic)))
            let elsewhere = LiveParticipant.connect(broker, hello: .queue(.init(ticket: "HD-M2", tier: .basic, line: "line7")))
            let premiumLink = try await broker.api(bob) { try await $0.helpLink(HelpLinkRequest(ticket: "HD-M3", tier: .premium, line: "line2")) }
            let standardLink = try await broker.api(bob) { try await $0.helpLink(HelpLinkRequest(ticket: "HD-M4", tier: .standard, line: "line2")) }
            let premiumHello = try QueueAbuseTests.hello(link: premiumLink.url)
            let standardHello = try QueueAbuseTests.hello(link: standardLink.url)
            let premium = LiveParticipant.connect(broker, hello: premiumHello)
            let standard = LiveParticipant.connect(broker, hello: standardHello)
            for customer in [plain, elsewhere, premium, standard] {
                try await customer.waitFor("queue.status") { if case .queueStatus(let s) = $0 { s } else { nil } }
            }

            let four = try await MetricsText.poll(broker) { $0.value("tandem_queue_waiting") == 4 }
            #expect(four.value("tandem_queue_waiting") == 4)
            let waiting = Self.expectedByLine(["line1/basic": 1, "line2/premium": 1, "line2/standard": 1, "other/basic": 1])
            #expect(Self.countsByLine(four) == waiting)
            // Customers name lines: one nobody answers is no label.
            #expect(!four.text.contains(#"line="line7""#))

            // Bob takes the next from line2: the premium customer.
            let session = LiveParticipant.connect(broker, hello: .take(token: bob, .init(line: "line2")))
            let assigned = try await session.waitFor("session.assigned") { if case .sessionAssigned(let a) = $0 { a } else { nil } }
            #expect(assigned.ticket == "HD-M3")
            try await premium.waitFor("session.joined") { if case .sessionJoined(let j) = $0 { j } else { nil } }
            let three = try await MetricsText.poll(broker) { $0.value("tandem_queue_waiting") == 3 }
            #expect(Self.countsByLine(three) == Self.expectedByLine(["line1/basic": 1, "line2/standard": 1, "other/basic": 1]))

            // The others leave.
            plain.leave()
            elsewhere.leave()
            standard.leave()
            let none = try await MetricsText.poll(broker) { $0.value("tandem_queue_waiting") == 0 }
            #expect(none.value("tandem_queue_waiting") == 0)
            #expect(Self.countsByLine(none) == Self.expectedByLine([:]))
            #expect(!desk.messages.contains { Self.offer($0) != nil })
        }
    }
}
