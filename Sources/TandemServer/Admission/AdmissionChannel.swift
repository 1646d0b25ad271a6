import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket
import TandemProtocol

/// The broker's HTTP/WebSocket child channel with the admission checks of
/// protocol/README.md §13 around hummingbird-websocket's:
///
/// - each accepted connection counts against its network's HTTP connections, and is closed
///   at once over that budget (``WebSocketAdmission/accept(_:)``);
/// - an ``UpgradeGate`` sees the first request before the WebSocket upgrader: refusals get
///   their own status (403, 429) instead of the library's blanket 400, a connection that
///   sends no request in time is closed, and the upgrade reserves its WebSocket slot;
/// - after an upgrade, ``PreHelloMessageLimit`` in front of the frame decoder refuses large
///   messages before the hello (1009) and ``WebSocketUnmasker`` behind it unmasks each frame
///   eight bytes at a time; without an upgrade, ``HTTPRequestDeadline`` bounds each request
///   including its body.
struct AdmissionChannel: ServerChildChannel {
    typealias Value = HTTP1WebSocketUpgradeChannel.Value

    struct Refused: Error {}

    let base: HTTP1WebSocketUpgradeChannel
    let admission: WebSocketAdmission
    let configuration: BrokerConfiguration

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let ticket = AdmissionTicket(network: ClientAddress(channel.remoteAddress).network)
        guard admission.accept(ticket) else {
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(Refused())
        }
        channel.closeFuture.whenComplete { [admission] _ in admission.release(ticket) }
        let limits = configuration.limits
        if limits.sendBufferSize > 0 {
            // Best effort: a platform that refuses keeps its default.
            _ = channel.setOption(ChannelOptions.socketOption(.so_sndbuf), value: SocketOptionValue(limits.sendBufferSize))
        }
        #if os(Linux)
        if limits.unsentBytes > 0 {
            // TCP_NOTSENT_LOWAT (25 in linux/tcp.h; Glibc's module does not export it). Best effort.
            let notSentLowWater = ChannelOptions.tcpOption(NIOBSDSocket.Option(rawValue: 25))
            _ = channel.setOption(notSentLowWater, value: SocketOptionValue(limits.unsentBytes))
        }
        #endif
        return base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let gate = UpgradeGate(admission: admission, ticket: ticket, requestTimeout: TimeAmount(limits.firstRequestTimeout))
            let upgrader = try pipeline.handler(type: NIOTypedHTTPServerUpgradeHandler<HTTP1WebSocketUpgradeChannel.UpgradeResult>.self)
            try pipeline.addHandler(gate, position: .before(upgrader))
            // Runs on the event loop when the upgrader decides, before it replays what it
            // buffered: the handlers below see every byte that follows.
            upgrader.upgradeResultFuture.whenSuccess { result in
                let pipeline = channel.pipeline.syncOperations
                switch result {
                case .websocket:
                    admission.upgraded(ticket)
                    guard let decoder = try? pipeline.handler(type: ByteToMessageHandler<WebSocketFrameDecoder>.self) else {
                        // NIOWebSocket changed its pipeline: refuse rather than run without the limits.
                        logger.error("WebSocket pipeline without NIOWebSocket's frame decoder; closing the connection")
                        channel.close(promise: nil)
                        return
                    }
                    let limit = PreHelloMessageLimit(ticket: ticket, helloLimit: limits.helloMessageSize, echoLimit: limits.echoMessageSize)
                    try? pipeline.addHandler(limit, position: .before(decoder))
                    try? pipeline.addHandler(WebSocketUnmasker(), position: .after(decoder))
                    try? pipeline.addHandler(AdmissionTicketHandler(ticket: ticket), position: .last)
                case .notUpgraded, .failedUpgrade:
                    // No WebSocket on this connection: it keeps only its HTTP slot.
                    admission.releaseWebSocketSlot(ticket)
                    guard let state = try? pipeline.handler(type: HTTPConnectionStateHandler.self) else {
                        logger.error("HTTP pipeline without Hummingbird's connection state handler; closing the connection")
                        channel.close(promise: nil)
                        return
                    }
                    try? pipeline.addHandler(HTTPRequestDeadline(deadline: TimeAmount(limits.requestDeadline)), position: .before(state))
                }
            }
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Carries a connection's ``AdmissionTicket`` in its pipeline, where the relay finds it when
/// it sets up the connection (``RelayConnection``, on the event loop). Passes everything through.
final class AdmissionTicketHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    let ticket: AdmissionTicket

    init(ticket: AdmissionTicket) {
        self.ticket = ticket
    }
}

/// Looks at the first request of a connection before the WebSocket upgrade handler does.
///
/// An upgrade from a page whose `Origin` is not allowed gets 403, one over the per-network
/// anonymous WebSocket cap 429, each with a one-line body and `Connection: close`; an
/// admitted upgrade has reserved its slot. A connection that has sent no request head within
/// `requestTimeout` (a silent TCP client, a stalled TLS handshake) is closed. After the
/// first request the gate removes itself (later requests on the connection cannot upgrade).
final class UpgradeGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let admission: WebSocketAdmission
    private let ticket: AdmissionTicket
    private let requestTimeout: TimeAmount
    private var timer: Scheduled<Void>?
    private var refusing = false

    init(admission: WebSocketAdmission, ticket: AdmissionTicket, requestTimeout: TimeAmount) {
        self.admission = admission
        self.ticket = ticket
        self.requestTimeout = requestTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: requestTimeout) {
            bound.value.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // The rest of a refused request is dropped; the connection is closing.
        if refusing { return }
        guard case .head(let head) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        timer?.cancel()
        timer = nil
        let isUpgrade = head.headers[canonicalForm: "upgrade"].contains { $0.lowercased() == "websocket" }
        if isUpgrade {
            let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
            ticket.state.withLockedValue {
                $0.endpoint = path == TandemWire.echoPath ? .echo : path == TandemWire.webSocketPath ? .relay : .other
            }
            if let refusal = admission.admit(ticket, origin: head.headers.first(name: "origin"), host: head.headers.first(name: "host")) {
                refusing = true
                refuse(context: context, status: HTTPResponseStatus(statusCode: refusal.status.code), body: refusal.message + "\n")
                return
            }
        }
        context.fireChannelRead(data)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private func refuse(context: ChannelHandlerContext, status: HTTPResponseStatus, body: String) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            bound.value.close(promise: nil)
        }
    }
}
