import Foundation
import Logging
import NIOCore
import TandemClient
import TandemCore
import TandemProtocol
import Testing

@Suite("Live TLS broker: bad input during a session", .timeLimit(.minutes(2)))
struct BadInputTests {
    let logger = Logger(label: "tandem.test.client")

    @Test("malformed messages and frames get an error, the session keeps working and is logged correctly")
    func badInputMidSession() async throws {
        try await LiveBroker.run { broker in
            let token = try await broker.addUser("alice", role: .agent)
            let (codes, codeSink) = AsyncStream<String>.makeStream()
            let (customerDone, customerDoneSink) = AsyncStream<Void>.makeStream()
            let logger = self.logger
            async let agent = TandemConnection.run(
                configuration: broker.clientConfiguration,
                hello: .agent(token: token, start: .init(ticket: "HD-BAD", mode: .screen)),
                logger: logger
            ) { inbound, outbound -> ([ErrorCode], MediaFrame?, SessionEnded?) in
                var events = inbound.makeAsyncIterator()
                guard case .sessionCreated(let created) = try await events.nextControl() else { return ([], nil, nil) }
                // Before anyone joined: chat is refused, frames are dropped silently.
                try await outbound.send(.chat(Chat(text: "anyone?")))
                guard case .error(let noPeer) = try await events.nextControl() else { return ([], nil, nil) }
                try await outbound.send(testFrame(stream: 1, sequence: 1, size: 10, fill: 0))
                codeSink.yield(created.joinCode)
                guard case .peerJoined = try await events.nextControl() else { return ([], nil, nil) }
                var errors = [noPeer.code]
                try await outbound.sendRaw(text: "{not json")
                try await outbound.sendRaw(text: #"{"type":"teleport"}"#)
                try await outbound.sendRaw(text: #"{"type":"chat","text":7}"#)
                try await outbound.send(.peerJoined(PeerJoined(role: .agent, client: nil)))
                var bad = testFrame(stream: 1, sequence: 2, size: 10, fill: 0).encoded()
                bad.setInteger(UInt8(9), at: 4)  // unknown codec
                try await outbound.sendRaw(binary: bad)
                try await outbound.sendRaw(binary: ByteBuffer(bytes: [1, 24, 1]))
                try await outbound.send(.chat(Chat(text: String(repeating: "x", count: Chat.maxLength + 1))))
                var frame: MediaFrame?
                while let event = try await events.next() {
                    switch event {
                    case .control(.error(let error)): errors.append(error.code)
                    case .frame(let received): frame = received
                    case .control(.sessionEnded(let ended)): return (errors, frame, ended)
                    default: break
                    }
                    if errors.count == 8, frame != nil {
                        customerDoneSink.finish()
                    }
                }
                return (errors, frame, nil)
            }
            var iterator = codes.makeAsyncIterator()
            let code = try #require(await iterator.next())
            let customer = try await TandemConnection.run(configuration: broker.clientConfiguration, hello: .customer(code: code), logger: logger) {
                inbound,
                outbound -> [String] in
                var events = inbound.makeAsyncIterator()
                _ = try await events.nextControl()
                try await outbound.send(.sessionEnd(SessionEnd(outcome: .resolved)))
                guard case .error(let forbidden) = try await events.nextControl() else { return [] }
                try await outbound.send(.consent(Consent(granted: true)))
                try await outbound.send(testFrame(stream: 4, sequence: 1, size: 64, fill: 7))
                for await _ in customerDone {}
                try await outbound.send(.sessionEnd(SessionEnd()))
                _ = try await events.untilEnded()
                return [forbidden.code.rawValue]
            }
            #expect(customer.result == ["forbidden-field"])
            let (errors, frame, ended) = try await agent.result ?? ([], nil, nil)
            #expect(
                errors == [
                    "no-peer", "malformed-message", "unknown-type", "invalid-field", "unexpected-message",
                    "unknown-codec", "truncated-frame", "invalid-field",
                ]
            )
            #expect(frame?.header.streamID == 4)
            #expect(ended?.reason == .customerLeft)
            let sessionID = try #require(ended?.sessionID)
            let record = try #require(try await broker.store.session(id: sessionID))
            #expect(record.endReason == .customerLeft)
            #expect(record.outcome == nil)
            #expect(record.traffic.customerToAgent.frames == 1)
            #expect(record.traffic.agentToCustomer.frames == 0)
        }
    }
}
