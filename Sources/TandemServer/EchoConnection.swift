import HummingbirdWebSocket
import Logging

/// `/v1/echo`: every message comes back unchanged. Customers test their connection with
/// it before a session (round-trip time, throughput); it is also what the Autobahn
/// conformance suite runs against. No hello, no session, nothing logged.
struct EchoConnection {
    let configuration: BrokerConfiguration
    let logger: Logger

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        do {
            for try await message in inbound.messages(maxSize: configuration.maxEchoMessageSize) {
                switch message {
                case .text(let text): try await outbound.write(.text(text))
                case .binary(let buffer): try await outbound.write(.binary(buffer))
                }
            }
        } catch {
            logger.debug("Echo connection ended", metadata: ["error": "\(String(reflecting: type(of: error)))"])
        }
    }
}
