import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1

/// The broker's HTTP/WebSocket child channel with an ``UpgradeGate`` in front of the
/// WebSocket upgrade: refusals get their own status (403, 429) instead of
/// hummingbird-websocket's blanket 400, and a connection that sends no request in time is
/// closed. See protocol/README.md §13.
struct AdmissionChannel: ServerChildChannel {
    typealias Value = HTTP1WebSocketUpgradeChannel.Value

    let base: HTTP1WebSocketUpgradeChannel
    let admission: WebSocketAdmission
    let requestTimeout: TimeAmount

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let gate = UpgradeGate(admission: admission, requestTimeout: requestTimeout, address: channel.remoteAddress)
            let upgrader = try pipeline.handler(type: NIOTypedHTTPServerUpgradeHandler<HTTP1WebSocketUpgradeChannel.UpgradeResult>.self)
            try pipeline.addHandler(gate, position: .before(upgrader))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Looks at the first request of a connection before the WebSocket upgrade handler does.
///
/// An upgrade from a page whose `Origin` is not allowed gets 403, one over the per-address
/// connection cap 429, each with a one-line body and `Connection: close`. A connection that
/// has sent no request head within `requestTimeout` (a silent TCP client, a stalled TLS
/// handshake) is closed. After the first request the gate removes itself.
final class UpgradeGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let admission: WebSocketAdmission
    private let requestTimeout: TimeAmount
    private let address: String?
    private var timer: Scheduled<Void>?
    private var refusing = false

    init(admission: WebSocketAdmission, requestTimeout: TimeAmount, address: SocketAddress?) {
        self.admission = admission
        self.requestTimeout = requestTimeout
        self.address = address?.ipAddress
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
        if isUpgrade, let refusal = admission.refusal(origin: head.headers.first(name: "origin"), host: head.headers.first(name: "host"), address: address) {
            refusing = true
            refuse(context: context, status: HTTPResponseStatus(statusCode: refusal.status.code), body: refusal.message + "\n")
            return
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
