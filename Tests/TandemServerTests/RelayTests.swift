import Foundation
import Logging
import NIOCore
import TandemClient
import TandemCore
import TandemProtocol
import Testing

@Suite("Live TLS broker: pairing and relaying", .timeLimit(.minutes(2)))
struct RelayTests {
    let logger = Logger(label: "tandem.test.client")

    struct AgentSeen: Sendable {
        var created: SessionCreated
        var peer: PeerJoined
        var frame: MediaFrame
        var chat: Chat
        var ended: SessionEnded?
    }

    struct CustomerSeen: Sendable {
        var joined: SessionJoined
        var frame: MediaFrame
        var chat: Chat
        var ended: SessionEnded?
    }

    @Test("an agent and a customer pair, frames (200 KB) and chat flow both ways, the agent ends it, the log is right")
    func pairAndRelay() async throws {
        try await LiveBroker.run { broker in
            let token = try await broker.addUser("alice", role: .agent)
            let (codes, codeSink) = AsyncStream<String>.makeStream()
            let agentFrame = testFrame(stream: 7, sequence: 1, size: 1_000, fill: 0xA1)
            let customerFrame = testFrame(stream: 1, sequence: 99, size: 200_000, fill: 0xC1)
            let logger = self.logger

            async let agentRun = TandemConnection.run(
                configuration: broker.clientConfiguration,
                hello: .agent(token: token, start: .init(ticket: "HD-1042", mode: .camera)),
                logger: logger
            ) { inbound, outbound -> AgentSeen in
                var events = inbound.makeAsyncIterator()
                guard case .sessionCreated(let created) = try await events.nextControl() else { throw TestFailure("no session.created") }
                codeSink.yield(created.joinCode)
                guard case .peerJoined(let peer) = try await events.nextControl() else { throw TestFailure("no peer.joined") }
                try await outbound.send(agentFrame)
                try await outbound.send(.chat(Chat(text: "Point the camera at the router, please")))
                // End only once the customer confirms it has the agent's frame (queued frames
                // are dropped at the end, and chat can overtake frames).
                var frame: MediaFrame?
                var chat: Chat?
                var confirmed = false
                while frame == nil || chat == nil || !confirmed, let event = try await events.next() {
                    switch event {
                    case .frame(let received): frame = received
                    case .control(.chat(let received)) where received.text == "got it": confirmed = true
                    case .control(.chat(let received)): chat = received
                    default: break
                    }
                }
                guard let frame, let chat else { throw TestFailure("the customer's frame and chat did not arrive") }
                try await outbound.send(.sessionEnd(SessionEnd(outcome: .resolved, note: "WAN cable moved")))
                let ended = try await events.untilEnded()
                return AgentSeen(created: created, peer: peer, frame: frame, chat: chat, ended: ended)
            }

            var codeIterator = codes.makeAsyncIterator()
            let code = try #require(await codeIterator.next())
            #expect(code.count == 15 && code.split(separator: "-").count == 4)
            let customerRun = try await TandemConnection.run(
                configuration: broker.clientConfiguration,
                hello: .customer(code: code, client: "test-customer/1"),
                logger: logger
            ) { inbound, outbound -> CustomerSeen in
                var events = inbound.makeAsyncIterator()
                guard case .sessionJoined(let joined) = try await events.nextControl() else { throw TestFailure("no session.joined") }
                try await outbound.send(.consent(Consent(granted: true)))
                try await outbound.send(customerFrame)
                try await outbound.send(.chat(Chat(text: "Like this?")))
                let (frame, chat) = try await events.frameAndChat()
                try await outbound.send(.chat(Chat(text: "got it")))
                let ended = try await events.untilEnded()
                return CustomerSeen(joined: joined, frame: frame, chat: chat, ended: ended)
            }
            let agent = try await agentRun
            let agentSeen = try #require(agent.result)
            let customerSeen = try #require(customerRun.result)

            #expect(agentSeen.peer == PeerJoined(role: .customer, client: "test-customer/1"))
            #expect(customerSeen.joined.ticket == "HD-1042")
            #expect(customerSeen.joined.agent == "alice")
            #expect(customerSeen.joined.mode == .camera)
            #expect(agentSeen.frame == customerFrame)
            #expect(customerSeen.frame == agentFrame)
            #expect(agentSeen.chat == Chat(text: "Like this?", from: .customer))
            #expect(customerSeen.chat == Chat(text: "Point the camera at the router, please", from: .agent))
            let expectedEnd = SessionEnded(sessionID: agentSeen.created.sessionID, reason: .agentEnded, outcome: .resolved)
            #expect(agentSeen.ended == expectedEnd)
            // The customer's copy also offers the post-session survey (§5.16).
            var customerEnd = customerSeen.ended
            #expect(customerEnd?.survey?.token.hasPrefix("tds_\(agentSeen.created.sessionID).") == true)
            customerEnd?.survey = nil
            #expect(customerEnd == expectedEnd)
            #expect(agent.closure.code == 1000)
            #expect(customerRun.closure.code == 1000)

            let record = try #require(try await broker.store.session(id: agentSeen.created.sessionID))
            #expect(record.ticket == "HD-1042")
            #expect(record.agent == "alice")
            #expect(record.mode == .camera)
            #expect(record.customerClient == "test-customer/1")
            #expect(record.customerJoinedAt != nil)
            #expect(record.endReason == .agentEnded)
            #expect(record.outcome == .resolved)
            #expect(record.note == "WAN cable moved")
            #expect(record.traffic.customerToAgent == TrafficCounters(frames: 1, bytes: Int64(MediaFrameHeader.size + 200_000)))
            #expect(record.traffic.agentToCustomer == TrafficCounters(frames: 1, bytes: Int64(MediaFrameHeader.size + 1_000)))
            #expect((record.waitSeconds ?? -1) >= 0)
            #expect((record.durationSeconds ?? -1) >= (record.waitSeconds ?? 0))
            #expect(record.expiresAt.timeIntervalSince(record.createdAt) == 600)
        }
    }

    @Test("the customer leaving ends the session for the agent; the outcome can be added once afterwards")
    func customerLeaves() async throws {
        try await LiveBroker.run { broker in
            let token = try await broker.addUser("alice", role: .agent)
            let agent = try await broker.startWaitingAgent(token: token, ticket: "HD-7")
            let code = agent.created.joinCode
            _ = try await TandemConnection.run(configuration: broker.clientConfiguration, hello: .customer(code: code), logger: self.logger) {
                inbound,
                outbound in
                var events = inbound.makeAsyncIterator()
                _ = try await events.nextControl()
                try await outbound.send(.sessionEnd(SessionEnd()))
                _ = try await events.untilEnded()
            }
            let ended = try #require(try await agent.ending.value.0)
            #expect(ended.reason == .customerLeft)
            #expect(ended.outcome == nil)

            let api = try TandemAPIClient(configuration: broker.clientConfiguration, token: token)
            let record = try await api.endSession(id: ended.sessionID, outcome: .unresolved, note: "customer hung up")
            #expect(record.outcome == .unresolved)
            #expect(record.endReason == .customerLeft)
            await #expect(throws: TandemAPIClient.Failure.self) {
                _ = try await api.endSession(id: ended.sessionID, outcome: .resolved, note: nil)
            }
            #expect(try await broker.store.session(id: ended.sessionID)?.outcome == .unresolved)
            try await api.shutdown()
        }
    }
}
