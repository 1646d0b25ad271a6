import HummingbirdWebSocket
import Logging
import TandemCore

/// `/v1/echo`: every message comes back unchanged. Customers test their connection with
/// it before a session (round-trip time, throughput); it is also what the Autobahn
/// conformance suite runs against. No hello, no session, nothing logged.
///
/// Anyone may connect, so it has budgets of its own (§13): messages up to
/// `echoMessageSize` (judged from the frame headers by ``PreHelloMessageLimit``), at the
/// frame rate (excess dropped, sustained excess closed with 1008), and a lifetime of
/// `echoLifetime` (then closed with 1000).
struct EchoConnection {
    let configuration: BrokerConfiguration
    let logger: Logger

    /// Echoes until the peer closes or the lifetime is over. A WebSocket violation (bad
    /// framing, invalid UTF-8 text, a message over the limit) is rethrown so
    /// hummingbird-websocket closes with the code RFC 6455 asks for (1002, 1007, 1009).
    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        let limits = configuration.limits
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await Task.sleep(for: limits.echoLifetime)
                try await outbound.close(.normalClosure, reason: "connection test time is over")
            }
            group.addTask { try await echo(inbound: inbound, outbound: outbound) }
            // Whichever ends first ends the other.
            try await group.next()
            group.cancelAll()
        }
    }

    private func echo(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        let limits = configuration.limits
        var rate = limits.frameRate.guardState
        let start = ContinuousClock.now
        do {
            for try await message in inbound.messages(maxSize: limits.echoMessageSize) {
                switch rate.message(now: (ContinuousClock.now - start).seconds) {
                case .accept:
                    break
                case .drop:
                    continue
                case .close:
                    try await outbound.close(.policyViolation, reason: "too many messages")
                    return
                }
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
