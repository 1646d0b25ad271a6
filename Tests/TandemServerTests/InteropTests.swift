import Foundation
import Logging
import NIOCore
import TandemClient
import TandemCore
import TandemProtocol
import Testing

@Suite("A foreign client written from protocol/README.md", .timeLimit(.minutes(2)))
struct InteropTests {
    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("interop/customer.py").path

    struct Summary: Decodable {
        struct Frame: Decodable {
            var stream: Int
            var sequence: Int
            var codec: String
            var keyframe: Bool
            var size: Int
            var first: Int
        }
        struct ChatLine: Decodable {
            var text: String
            var from: String?
        }
        struct Ended: Decodable {
            var reason: String
        }
        var frame: Frame
        var chat: ChatLine
        var ended: Ended?
        var closeCode: Int?
    }

    @Test("a Python websockets customer joins over wss and exchanges frames and chat with a Swift agent")
    func pythonCustomer() async throws {
        try await LiveBroker.run { broker in
            let token = try await broker.addUser("alice", role: .agent)
            let (codes, codeSink) = AsyncStream<String>.makeStream()
            let agentFrame = testFrame(stream: 5, sequence: 2, size: 3_000, fill: 0x5A)
            async let agent = TandemConnection.run(
                configuration: broker.clientConfiguration,
                hello: .agent(token: token, start: .init(ticket: "HD-PY", mode: .camera)),
                logger: Logger(label: "tandem.test.agent")
            ) { inbound, outbound -> (MediaFrame?, Chat?, SessionEnded?) in
                var events = inbound.makeAsyncIterator()
                guard case .sessionCreated(let created) = try await events.nextControl() else { return (nil, nil, nil) }
                codeSink.yield(created.joinCode)
                guard case .peerJoined = try await events.nextControl() else { return (nil, nil, nil) }
                try await outbound.send(agentFrame)
                var frame: MediaFrame?
                var chat: Chat?
                while let event = try await events.next() {
                    switch event {
                    case .frame(let received):
                        // Chat only once the customer's frame is here: the customer leaves after
                        // the chat, and frames still queued at the end are not delivered.
                        frame = received
                        try await outbound.send(.chat(Chat(text: "hello from swift")))
                    case .control(.chat(let received)): chat = received
                    case .control(.sessionEnded(let ended)): return (frame, chat, ended)
                    default: break
                    }
                }
                return (frame, chat, nil)
            }
            var iterator = codes.makeAsyncIterator()
            let code = try #require(await iterator.next())

            let child = try await ChildProcess.run(["python3", Self.script, "wss://127.0.0.1:\(broker.port)/v1/ws", code, broker.caFile])
            let (stdout, stderr) = (child.stdout, child.stderr)
            #expect(child.status == 0, "python customer failed: \(String(decoding: stderr, as: UTF8.self))")
            let summary = try JSONDecoder().decode(Summary.self, from: stdout)
            #expect(summary.frame.stream == 5)
            #expect(summary.frame.sequence == 2)
            #expect(summary.frame.codec == "jpeg")
            #expect(summary.frame.keyframe)
            #expect(summary.frame.size == 3_000)
            #expect(summary.frame.first == 0x5A)
            #expect(summary.chat.text == "hello from swift")
            #expect(summary.chat.from == "agent")
            #expect(summary.ended?.reason == "customer-left")
            #expect(summary.closeCode == 1000)

            let (frame, chat, ended) = try #require(try await agent.result)
            let received = try #require(frame)
            #expect(received.header.streamID == 3)
            #expect(received.header.sequence == 17)
            #expect(received.header.codec == .png)
            var expected: [UInt8] = []
            for _ in 0..<40 { expected.append(contentsOf: (0...255).map { UInt8($0) }) }
            let payload = Array(received.payload.readableBytesView)
            #expect(payload == expected)
            #expect(chat == Chat(text: "hello from python", from: .customer))
            #expect(ended?.reason == .customerLeft)
            let sessionID = try #require(ended?.sessionID)
            let record = try #require(try await broker.store.session(id: sessionID))
            #expect(record.customerClient == "python-websockets")
            #expect(record.traffic.customerToAgent.frames == 1)
        }
    }
}
