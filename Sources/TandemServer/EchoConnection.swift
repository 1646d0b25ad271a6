import HummingbirdWebSocket
import Logging

/// `/v1/echo`: every message comes back unchanged. Customers test their connection with
/// it before a session (round-trip time, throughput); it is also what the Autobahn
/// conformance suite runs against. No hello, no session, nothing logged.
struct EchoConnection {
    let configuration: BrokerConfiguration
    let logger: Logger

    /// Echoes until the peer closes. A WebSocket violation (bad framing, invalid UTF-8 text,
    /// a message over the limit) is rethrown so hummingbird-websocket closes with the code
    /// RFC 6455 asks for (1002, 1007, 1009).
    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        do {
            for try await message in inbound.messages(maxSize: configuration.limits.echoMessageSize) {
                switch message {
                case .text(let text): try await outbound.write(.text(text))
                case .binary(let buffer): try await outbound.write(.binary(buffer))
                }
            }
        } catch {
            logger.debug("Echo connection ended", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            throw error
        }
    }
}
