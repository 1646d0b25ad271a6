import Hummingbird
import Logging
import NIOCore
import NIOEmbedded
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
