import Foundation
import Logging
import TandemClient
import TandemCore
import TandemProtocol
import TandemServer
import Testing

/// A peer that stops reading while the broker closes its connection (SECURITY.md): its close
/// cannot get through a full socket, so the connection is cut after a grace period (2 s
/// after an idle close, 10 s after its reading ended) instead of being held. Each test fills
/// the broker's socket to a customer that never reads (zero window), makes the broker close
/// that connection, and checks from the outside that it is gone in time, that the close
/// never reached the customer (cut, not closed), that the ending is logged, and that a new
/// pair is served.
@Suite("Live TLS broker: a peer that stops reading while its connection closes", .timeLimit(.minutes(2)))
struct ClosingPeerTests {
    let logger = Logger(label: "tandem.test.client")

    /// A session whose customer never reads while its agent pushes frames.
    struct StalledSession: Sendable {
        let agent: LiveParticipant
        let created: SessionCreated
        /// How the customer saw its connection end once it hung up (nil: its reading failed).
        let customer: Task<TandemClosure?, Never>
        /// Texts the customer sends without reading; finishing it makes the customer hang up.
        let customerSends: AsyncStream<String>.Continuation
        let pushing: Task<Void, any Error>

        /// Stops the frames; the customer hangs up and reads what was left for it.
        func stop() async -> TandemClosure? {
            pushing.cancel()
            customerSends.finish()
            return await customer.value
        }
    }

    /// Starts a session with a customer that never reads and has the agent push frames until
    /// the broker's socket to the customer is full: frames for it are being dropped.
    func stalledSession(_ broker: LiveBroker, token: String, ticket: String) async throws -> StalledSession {
        let agent = LiveParticipant.connect(broker, hello: .agent(token: token, start: .init(ticket: ticket, mode: .camera)))
        let created = try await agent.waitFor("session.created") { if case .sessionCreated(let created) = $0 { created } else { nil } }
        let (sends, sink) = AsyncStream<String>.makeStream()
        let configuration = broker.clientConfiguration
        let hello = Hello.customer(code: created.joinCode)
        let logger = self.logger
        // The body never reads: the client stops reading its socket once a few messages are
        // unread (back-pressure, as in SlowConsumerTests), so the broker's TCP window closes.
        let customer = Task {
            try? await TandemConnection.run(configuration: configuration, hello: hello, logger: logger) { _, outbound -> Void in
                for await text in sends { try await outbound.sendRaw(text: text) }
            }.closure
        }
        try await agent.waitFor("peer.joined") { if case .peerJoined = $0 { true } else { nil } }
        // 100 KB frames, 40 a second (under the 120 fps limit): 4 MB/s the customer never reads.
        let pushing = Task {
            for sequence in UInt32(0)... {
                try await agent.send(testFrame(stream: 1, sequence: sequence, size: 100_000, fill: 0xAB))
                try await Task.sleep(for: .milliseconds(25))
            }
        }
        // The customer's outbox drops frames once its writer is held back by the full socket.
        try await OverlayMemoryTests.waitUntil("frames for the customer are dropped") { broker.statistics.framesDropped > 0 }
        return StalledSession(agent: agent, created: created, customer: customer, customerSends: sink, pushing: pushing)
    }

    /// `tandem_connections` of `GET /metrics`: the relay connections the broker holds.
    func openConnections(_ broker: LiveBroker) async throws -> Int {
        let metrics = try await LimitsTests().get(broker, "/metrics")
        let prefix = "tandem_connections "
        guard let line = metrics.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }),
            let value = Double(line.dropFirst(prefix.count))
        else { throw TestFailure("no tandem_connections in /metrics:\n\(metrics)") }
        return Int(value)
    }

    /// Polls `/metrics` until the broker holds `count` relay connections; returns how long that took.
    @discardableResult
    func untilConnections(_ count: Int, _ broker: LiveBroker, within seconds: Double) async throws -> Duration {
        let clock = ContinuousClock()
        let start = clock.now
        var open = try await openConnections(broker)
        while open != count {
            guard clock.now - start < .seconds(seconds) else {
                throw TestFailure("\(open) relay connections after \(Int(seconds)) s, not \(count)")
            }
            try await Task.sleep(for: .milliseconds(250))
            open = try await openConnections(broker)
        }
        return clock.now - start
    }

    /// A new pair sets up a session and relays a chat line: the broker still serves.
    func freshPair(_ broker: LiveBroker, token: String, ticket: String) async throws {
        let agent = LiveParticipant.connect(broker, hello: .agent(token: token, start: .init(ticket: ticket, mode: .screen)))
        let created = try await agent.waitFor("session.created") { if case .sessionCreated(let created) = $0 { created } else { nil } }
        let customer = LiveParticipant.connect(broker, hello: .customer(code: created.joinCode))
        try await customer.waitFor("session.joined") { if case .sessionJoined = $0 { true } else { nil } }
        try await customer.send(.chat(Chat(text: "still there?")))
        let chat = try await agent.waitFor("the customer's chat") { if case .chat(let chat) = $0 { chat.text } else { nil } }
        #expect(chat == "still there?")
        try await customer.send(.sessionEnd(SessionEnd()))
        let ended = try await agent.waitFor("session.ended") { if case .sessionEnded(let ended) = $0 { ended.reason } else { nil } }
        #expect(ended == .customerLeft)
        _ = try await agent.closure.value
        _ = try await customer.closure.value
    }

    @Test("closed as idle behind a full socket: cut within the 2 s grace; the customer is away, the agent ends the session")
    func idleCut() async throws {
        // 3 s: short, and still long enough for the pairs to set up before they count as idle.
        try await LiveBroker.run(configure: { $0.limits.idleTimeout = .seconds(3) }) { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let stalled = try await stalledSession(broker, token: alice, ticket: "HD-IDLE-CUT")
            #expect(try await openConnections(broker) == 2)
            // Nothing reaches the customer any more, so its connection is idle after 3 s (the
            // agent's, which sends, is not); its 4413 cannot go out and the cut follows 2 s
            // later, plus 1 s for TLS's close_notify. Pings (every 20 s) would take 40 s.
            try await untilConnections(1, broker, within: 3 + 2 + 1 + 6)
            let away = try await stalled.agent.waitFor("peer.away", seconds: 5) { if case .peerAway(let away) = $0 { away.role } else { nil } }
            #expect(away == .customer)
            stalled.pushing.cancel()
            try await stalled.agent.send(.sessionEnd(SessionEnd(outcome: .resolved)))
            let ended = try await stalled.agent.waitFor("session.ended") { if case .sessionEnded(let ended) = $0 { ended.reason } else { nil } }
            #expect(ended == .agentEnded)
            #expect(try await stalled.agent.closure.value.code == 1000)
            // Reading again, the customer finds what was in the socket and no close frame: cut.
            let seen = await stalled.stop()
            #expect(seen?.code == nil, "\(String(describing: seen))")
            let sessionID = stalled.created.sessionID
            let record = try #require(try await broker.store.session(id: sessionID))
            #expect(record.endReason == .agentEnded)
            let dropped = try await broker.store.events(sessionID: sessionID).filter { $0.kind == .participantDisconnected }
            #expect(dropped.map { $0.detail["role"] } == ["customer"])
            try await freshPair(broker, token: alice, ticket: "HD-IDLE-AFTER")
        }
    }

    @Test("refused behind a full socket: its reading ended, it is held for the 10 s grace, then cut; the session ends as a violation")
    func readEndedCut() async throws {
        // The default idle timeout (15 min): only the close grace can cut this connection.
        try await LiveBroker.run(configure: { $0.limits.maxControlMessageSize = 1024 }) { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let stalled = try await stalledSession(broker, token: alice, ticket: "HD-READ-ENDED")
            #expect(try await openConnections(broker) == 2)
            // Over the control message limit: refused (message-too-big, 1009) and read no more.
            stalled.customerSends.yield(String(repeating: "x", count: 2_000))
            let ended = try await stalled.agent.waitFor("session.ended") { if case .sessionEnded(let ended) = $0 { ended.reason } else { nil } }
            #expect(ended == .protocolViolation)
            stalled.pushing.cancel()
            #expect(try await stalled.agent.closure.value.code == 1000)
            // The refusal and its close wait behind the full socket until the cut, 10 s after
            // the reading ended (plus 1 s for TLS's close_notify).
            let held = try await untilConnections(0, broker, within: 10 + 1 + 6)
            #expect(held >= .seconds(5), "closed \(held) after the refusal: the socket was not full")
            let seen = await stalled.stop()
            #expect(seen?.code == nil, "\(String(describing: seen))")
            let record = try #require(try await broker.store.session(id: stalled.created.sessionID))
            #expect(record.endReason == .protocolViolation)
            try await freshPair(broker, token: alice, ticket: "HD-READ-ENDED-AFTER")
        }
    }
}
