import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOEmbedded
import TandemClient
import TandemProtocol
import Testing

@testable import TandemServer

/// hummingbird-websocket keeps each WebSocket's request context in a cycle that is never
/// broken; the context must therefore not keep its channel (and the channel's receive
/// buffers) alive once the connection closed.
@Suite("The WebSocket request context holds its channel weakly")
struct RelayRequestContextTests {
    @Test("the context gives the channel while it lives and nil once it was released")
    func weakChannel() throws {
        var channel: EmbeddedChannel? = EmbeddedChannel()
        let context = RelayRequestContext(source: .init(channel: try #require(channel), logger: Logger(label: "test")))
        #expect(context.channel != nil)
        _ = try channel?.finish()
        channel = nil
        #expect(context.channel == nil)
    }
}

/// The request contexts of closed WebSockets are released: the relay breaks
/// hummingbird-websocket's context cycle when a connection closes. Runs in the
/// serial pass (`scripts/test.sh`): it counts contexts process-wide.
@Suite("Live TLS broker: closed WebSockets give their request context back", .timeLimit(.minutes(2)))
struct RequestContextReleaseTests {
    @Test("eight sessions started and ended leave no request context behind")
    func released() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let before = WeakChannel.live.load(ordering: .relaxed)
            for index in 0..<8 {
                let agent = LiveParticipant.connect(broker, hello: .agent(token: alice, start: .init(ticket: "HD-CTX-\(index)", mode: .screen)))
                _ = try await agent.waitFor("session.created") { if case .sessionCreated(let created) = $0 { created } else { nil } }
                try await agent.send(.sessionEnd(SessionEnd(outcome: .resolved)))
                #expect(try await agent.closure.value.code == 1000)
            }
            try await OverlayMemoryTests.waitUntil("the 8 contexts are released", seconds: 10) {
                WeakChannel.live.load(ordering: .relaxed) <= before
            }
        }
    }

    @Test("upgrade requests whose peer hangs up before the answer leave no request context behind")
    func abandonedUpgrades() async throws {
        try await LiveBroker.run(configure: { $0.limits.anonymousWebSocketsPerNetwork = 64 }) { broker in
            let before = WeakChannel.live.load(ordering: .relaxed)
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("interop/admission_attack.py").path
            for path in [TandemWire.webSocketPath, TandemWire.echoPath] {
                let child = try await ChildProcess.run(["python3", script, "abort", "127.0.0.1", String(broker.port), broker.caFile, path, "20"])
                #expect(String(decoding: child.stdout, as: UTF8.self).contains(#""sent": 20"#))
            }
            try await OverlayMemoryTests.waitUntil("the abandoned upgrades' contexts are released", seconds: 10) {
                WeakChannel.live.load(ordering: .relaxed) <= before
            }
        }
    }
}
