import Foundation
import Logging
import TandemClient
import TandemCore
import TandemProtocol
import Testing

@Suite("Live TLS broker: customer consent", .timeLimit(.minutes(2)))
struct ConsentTests {
    let logger = Logger(label: "tandem.test.client")

    @Test("without consent nothing of the customer's is relayed; granting and withdrawing are relayed and logged in order")
    func consentLifecycle() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let (codes, codeSink) = AsyncStream<String>.makeStream()
            let (agentSaw, agentSawSink) = AsyncStream<Void>.makeStream()
            let agent = Task {
                try await TandemConnection.run(
                    configuration: broker.clientConfiguration,
                    hello: .agent(token: alice, start: .init(ticket: "HD-C", mode: .camera)),
                    logger: logger
                ) { inbound, _ -> [String] in
                    var events = inbound.makeAsyncIterator()
                    guard case .sessionCreated(let created) = try await events.nextControl() else { return [] }
                    codeSink.yield(created.joinCode)
                    var seen: [String] = []
                    while let event = try await events.next() {
                        switch event {
                        case .frame(let frame): seen.append("frame \(frame.header.sequence)")
                        case .control(.consent(let consent)): seen.append("consent \(consent.granted)")
                        case .control(.streamStart(let start)): seen.append("stream.start \(start.streamID)")
                        case .control(.streamStop(let stop)): seen.append("stream.stop \(stop.streamID)")
                        case .control(.sessionEnded): return seen
                        default: continue
                        }
                        agentSawSink.yield()
                    }
                    return seen
                }
            }
            var codeIterator = codes.makeAsyncIterator()
            let code = try #require(await codeIterator.next())
            let customer = try await TandemConnection.run(
                configuration: broker.clientConfiguration,
                hello: .customer(code: code, client: "t/1"),
                logger: logger
            ) { inbound, outbound -> [String] in
                var events = inbound.makeAsyncIterator()
                var saw = agentSaw.makeAsyncIterator()
                guard case .sessionJoined(let joined) = try await events.nextControl() else { return [] }
                #expect(joined.mode == .camera)
                var errors: [String] = []
                // Refused: nothing goes out.
                try await outbound.send(.consent(Consent(granted: false, source: .camera)))
                _ = await saw.next()
                try await outbound.send(.streamStart(StreamStart(streamID: 1, source: .camera, codec: .jpeg, width: 64, height: 48, fps: 5)))
                if case .error(let error) = try await events.nextControl() { errors.append(error.code.rawValue) }
                try await outbound.send(testFrame(stream: 1, sequence: 1, size: 100, fill: 1))
                try await outbound.send(testFrame(stream: 1, sequence: 2, size: 100, fill: 2))
                if case .error(let error) = try await events.nextControl() { errors.append(error.code.rawValue) }
                // Granted: the stream and frames flow.
                try await outbound.send(.consent(Consent(granted: true, source: .camera)))
                try await outbound.send(.streamStart(StreamStart(streamID: 1, source: .camera, codec: .jpeg, width: 64, height: 48, fps: 5)))
                try await outbound.send(testFrame(stream: 1, sequence: 3, size: 100, fill: 3))
                for _ in 0..<3 { _ = await saw.next() }
                // Withdrawn: the broker stops the stream for the agent.
                try await outbound.send(.consent(Consent(granted: false, source: .camera)))
                for _ in 0..<2 { _ = await saw.next() }
                try await outbound.send(testFrame(stream: 1, sequence: 4, size: 100, fill: 4))
                if case .error(let error) = try await events.nextControl() { errors.append(error.code.rawValue) }
                try await outbound.send(.sessionEnd(SessionEnd()))
                _ = try await events.untilEnded()
                return errors
            }
            let agentSeen = try #require(try await agent.value.result)
            #expect(customer.result == ["consent-required", "consent-required", "consent-required"])
            #expect(agentSeen == ["consent false", "consent true", "stream.start 1", "frame 3", "consent false", "stream.stop 1"])

            let session = try #require(try await broker.store.sessions(matching: SessionFilter(ticket: "HD-C")).first)
            #expect(session.traffic.customerToAgent.frames == 1)
            #expect(session.customerAddress == "127.0.0.1")
            #expect(session.endedBy == "customer")
            let events = try await broker.store.events(sessionID: session.id)
            #expect(
                events.map(\.kind) == [
                    "session.created", "customer.joined", "consent.denied", "consent.granted", "stream.started", "consent.denied", "session.ended",
                ]
            )
            #expect(events[1].detail["address"] == "127.0.0.1")
            #expect(events[1].detail["client"] == "t/1")
            #expect(events[2].detail["withdrawn"] == nil)
            #expect(events[5].detail["withdrawn"] == "true")
            #expect(events[4].detail["size"] == "64x48")
            #expect(events.last?.actor == "customer")
        }
    }

    @Test("only the customer answers the consent question")
    func agentCannotConsent() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let run = try await TandemConnection.run(
                configuration: broker.clientConfiguration,
                hello: .agent(token: alice, start: .init(ticket: "HD-C2", mode: .screen)),
                logger: logger
            ) { inbound, outbound -> String? in
                var events = inbound.makeAsyncIterator()
                _ = try await events.nextControl()
                try await outbound.send(.consent(Consent(granted: true)))
                guard case .error(let error) = try await events.nextControl() else { return nil }
                return error.code.rawValue
            }
            #expect(run.result == "unexpected-message")
        }
    }
}
