import NIOCore
import NIOWebSocket
import Testing

@testable import TandemServer

/// Which read errors end a session as a protocol violation (the live cases are
/// RefusalTests.invalidUTF8 for WSCore's error and RefusalTests.tooBig for NIOWebSocket's).
@Suite("WebSocket violations and dropped connections")
struct WebSocketViolationTests {
    struct SomethingElse: Error {}

    @Test("NIOWebSocket's errors are violations")
    func nioWebSocket() {
        #expect(RelayConnection.isWebSocketViolation(NIOWebSocketError.invalidFrameLength))
    }

    @Test("a reset connection, a closed channel or any other error is a dropped connection")
    func transport() {
        #expect(!RelayConnection.isWebSocketViolation(IOError(errnoCode: 104, reason: "read")))
    }

    @Test("an error of another module is not a violation")
    func other() {
        #expect(!RelayConnection.isWebSocketViolation(ChannelError.ioOnClosedChannel))
        #expect(!RelayConnection.isWebSocketViolation(SomethingElse()))
    }
}
