import HTTPTypes
import Logging
import NIOConcurrencyHelpers
import NIOWebSocket
import TandemProtocol
import WSClient

/// A participant's WebSocket connection to the broker.
public enum TandemConnection {
    /// Connects, sends `hello`, and runs `body` with the decoded inbound messages and a sender.
    ///
    /// Returns what `body` returned (nil if it threw) and how the broker closed the connection.
    /// When `body` returns, the connection is closed normally.
    public static func run<Result: Sendable>(
        configuration: TandemClientConfiguration,
        hello: Hello,
        logger: Logger,
        body: @escaping @Sendable (TandemInbound, TandemOutbound) async throws -> Result
    ) async throws -> (result: Result?, closure: TandemClosure) {
        let box = NIOLockedValueBox<Result?>(nil)
        var hello = hello
        if hello.client == nil { hello.client = configuration.clientName }
        let helloText = ControlMessage.hello(hello).jsonText
        var headers = HTTPFields()
        headers[.secWebSocketProtocol] = TandemWire.subprotocol
        var webSocketConfiguration = WebSocketClientConfiguration(maxFrameSize: configuration.maxMessageSize, additionalHeaders: headers)
        webSocketConfiguration.sniHostname = try configuration.sniHostname()
        let closeFrame = try await WebSocketClient.connect(
            url: configuration.webSocketURL,
            configuration: webSocketConfiguration,
            tlsConfiguration: try configuration.tlsConfiguration(),
            logger: logger
        ) { inbound, outbound, _ in
            try await outbound.write(.text(helloText))
            let result = try await body(
                TandemInbound(messages: inbound.messages(maxSize: configuration.maxMessageSize)),
                TandemOutbound(writer: outbound)
            )
            box.withLockedValue { $0 = result }
        }
        return (
            box.withLockedValue { $0 }, TandemClosure(code: closeFrame.map { UInt16(webSocketErrorCode: $0.closeCode) }, reason: closeFrame?.reason)
        )
    }
}
