import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import TandemProtocol

/// One WebSocket connection of the load generator, written for the bench (bench/README.md) on
/// SwiftNIO: NIOSSL for TLS, NIOHTTP1's client codec with NIOWebSocket's upgrader for the
/// handshake, then NIOWebSocket's frame decoder and encoder. It hands whole messages to hooks
/// on its event loop, so a message costs the generator little besides TLS and masking: no
/// JSON, no task hop, no copy of received payloads. Outgoing messages are built once by the
/// caller (``LoadFrame``, ``LoadMediaFrames``) and the same frame is written again and again.
///
/// Without hooks, text messages are decoded into ``ControlMessage``s and queued for
/// ``waitFor(_:timeout:_:)`` (the setup), binary ones are counted and dropped. Pings are
/// answered and the broker's close is echoed, as any client does.
///
/// Everything except the `async` methods, ``send(_:)`` and ``close()`` runs on ``eventLoop``
/// (hence `@unchecked Sendable`: the state is confined to that loop).
final class LoadSocket: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    /// The largest message taken from the broker: four times its default message limit
    /// (`tandem bench --size` is at most 4 MB).
    static let maxFrameSize = 16 << 20

    let eventLoop: any EventLoop
    private let upgraded: EventLoopPromise<Void>
    private let closed: EventLoopPromise<Void>
    /// Set once the upgrade added this handler behind NIO's WebSocket handlers.
    private var context: ChannelHandlerContext?
    private var isUpgraded = false
    private var inbox: [ControlMessage] = []
    private var waiter: EventLoopPromise<ControlMessage>?
    private var waiterTimer: Scheduled<Void>?
    private var sentClose = false
    private(set) var isClosed = false
    /// The close code of the broker's close frame, if it sent one.
    private(set) var closeCode: UInt16?
    /// Binary messages that arrived while no ``onBinary`` hook was set.
    private(set) var unhandledBinary = 0

    /// Called on the event loop with each text message's payload (instead of the inbox).
    var onText: ((ByteBuffer) -> Void)?
    /// Called on the event loop with each binary message (a media frame: header + payload).
    var onBinary: ((ByteBuffer) -> Void)?
    /// Called on the event loop when the socket takes writes again.
    var onWritable: (() -> Void)?

    /// Succeeds when the connection has closed (never fails).
    var closeFuture: EventLoopFuture<Void> { closed.futureResult }

    private init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        self.upgraded = eventLoop.makePromise(of: Void.self)
        self.closed = eventLoop.makePromise(of: Void.self)
    }

    /// Connects over TLS (SNI and certificate name `localhost`), upgrades to a WebSocket on
    /// `/v1/ws` offering `tandem.v1`, and returns once the broker answered 101.
    ///
    /// `receiveBuffer` sets `SO_RCVBUF` before connecting (0: the kernel's autotuning).
    static func connect(to target: LoadTarget, on eventLoop: any EventLoop, receiveBuffer: Int = 0) async throws -> LoadSocket {
        let socket = LoadSocket(eventLoop: eventLoop)
        let sslContext = target.sslContext
        let authority = "\(target.host):\(target.port)"
        var bootstrap = ClientBootstrap(group: eventLoop).connectTimeout(.seconds(30))
        if receiveBuffer > 0 {
            bootstrap = bootstrap.channelOption(ChannelOptions.socketOption(.so_rcvbuf), value: SocketOptionValue(receiveBuffer))
        }
        bootstrap = bootstrap.channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                let tls = try NIOSSLClientHandler(context: sslContext, serverHostname: "localhost")
                try channel.pipeline.syncOperations.addHandler(tls)
                try socket.addUpgrade(to: channel, authority: authority)
            }
        }
        do {
            _ = try await bootstrap.connect(host: target.host, port: target.port).get()
        } catch {
            let failure = LoadError("cannot connect: \(error)")
            eventLoop.execute { socket.finish(failure) }
            throw error
        }
        try await socket.upgraded.futureResult.get()
        return socket
    }

    /// Adds NIO's HTTP/1 client codec and WebSocket upgrader behind TLS (on the channel's
    /// event loop). The upgrade request is sent once TLS is up; on 101 the upgrader swaps the
    /// HTTP handlers for NIO's frame encoder and decoder (and its protocol error handler),
    /// behind which this handler goes, after an aggregator that joins fragmented messages.
    /// No `Origin` header: the load generator is not a web page.
    private func addUpgrade(to channel: any Channel, authority: String) throws {
        let upgrader = NIOTypedWebSocketClientUpgrader<Bool>(
            maxFrameSize: LoadSocket.maxFrameSize,
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    let aggregator = NIOWebSocketFrameAggregator(
                        minNonFinalFragmentSize: 0,
                        maxAccumulatedFrameCount: 1024,
                        maxAccumulatedFrameSize: LoadSocket.maxFrameSize
                    )
                    try channel.pipeline.syncOperations.addHandler(aggregator)
                    try channel.pipeline.syncOperations.addHandler(self)
                    return true
                }
            }
        )
        let request = HTTPRequestHead(
            version: .http1_1,
            method: .GET,
            uri: TandemWire.webSocketPath,
            headers: ["Host": authority, "Sec-WebSocket-Protocol": TandemWire.subprotocol]
        )
        let upgrade = NIOTypedHTTPClientUpgradeConfiguration<Bool>(
            upgradeRequestHead: request,
            upgraders: [upgrader],
            notUpgradingCompletionHandler: { channel in
                channel.eventLoop.makeCompletedFuture {
                    // The HTTP codec stays; the refusal reads the broker's status from the response head.
                    try channel.pipeline.syncOperations.addHandler(LoadUpgradeRefusal(socket: self))
                    return false
                }
            }
        )
        var configuration = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: upgrade)
        // Bytes that came in the same read as the 101 are WebSocket frames: hand them on.
        configuration.leftOverBytesStrategy = .forwardBytes
        let outcome = try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: configuration)
        // The TCP connect has its own timeout; this one bounds TLS and the upgrade.
        let timeout = channel.eventLoop.scheduleTask(in: .seconds(60)) {
            channel.close(promise: nil)
        }
        outcome.whenComplete { result in
            timeout.cancel()
            switch result {
            case .success(true):
                self.upgradeSucceeded()
            case .success(false):
                break  // LoadUpgradeRefusal reports the broker's answer.
            case .failure(let error):
                // NIO's upgrade handler fails the upgrade so when it leaves a closing pipeline.
                if let channelError = error as? ChannelError, channelError == .inappropriateOperationForState {
                    self.finish(LoadError("the connection closed before the WebSocket upgrade"))
                } else {
                    self.finish(LoadError("the WebSocket upgrade failed: \(error)"))
                }
                channel.close(promise: nil)
            }
        }
    }

    // MARK: Off the event loop

    /// Writes and flushes a frame built once (``LoadFrame``), from anywhere.
    func send(_ frame: WebSocketFrame) {
        eventLoop.execute { self.writeAndFlush(frame) }
    }

    /// Encodes and sends one control message (setup traffic; hot paths build their frames once).
    func send(_ message: ControlMessage) {
        send(LoadFrame.text(message))
    }

    /// Closes the TCP connection without a WebSocket close handshake.
    func close() {
        eventLoop.execute { self.context?.close(promise: nil) }
    }

    /// The next control message from the inbox, skipping those `match` returns nil for.
    /// An `error` from the broker, the connection closing or `timeout` throw.
    func waitFor<T: Sendable>(_ what: String, timeout: TimeAmount = .seconds(60), _ match: (ControlMessage) -> T?) async throws -> T {
        while true {
            let message = try await eventLoop.flatSubmit { self.nextControl(timeout: timeout, what: what) }.get()
            if case .error(let error) = message {
                throw LoadError("waiting for \(what): the broker sent error \(error.code.rawValue): \(error.message)")
            }
            if let value = match(message) { return value }
        }
    }

    // MARK: On the event loop

    /// Whether the socket takes more writes now (NIO's writability: pending bytes below the
    /// high-water mark).
    var isWritable: Bool { context?.channel.isWritable ?? false }

    /// Queues a frame; nothing goes out before ``flush()``. NIO's `WebSocketFrameEncoder`
    /// writes its header and masks its payload with the frame's key (into a copy: the frame's
    /// buffer is shared and stays as it is).
    func write(_ frame: WebSocketFrame) {
        context?.write(wrapOutboundOut(frame), promise: nil)
    }

    func flush() {
        context?.flush()
    }

    func writeAndFlush(_ frame: WebSocketFrame) {
        context?.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }

    /// Stops or resumes reading the socket (`autoRead`). While stopped, nothing is read from
    /// the kernel: its receive buffer fills and TCP's window closes towards the broker.
    func setReading(_ reading: Bool) {
        try? context?.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: reading)
    }

    private func nextControl(timeout: TimeAmount, what: String) -> EventLoopFuture<ControlMessage> {
        if !inbox.isEmpty { return eventLoop.makeSucceededFuture(inbox.removeFirst()) }
        if isClosed {
            let code = closeCode.map { "close code \($0)" } ?? "no close frame"
            return eventLoop.makeFailedFuture(LoadError("waiting for \(what): the connection closed (\(code))"))
        }
        let promise = eventLoop.makePromise(of: ControlMessage.self)
        waiter = promise
        waiterTimer = eventLoop.scheduleTask(in: timeout) {
            guard let waiter = self.waiter, waiter.futureResult === promise.futureResult else { return }
            self.waiter = nil
            self.waiterTimer = nil
            waiter.fail(LoadError("waiting for \(what): nothing came within \(timeout.nanoseconds / 1_000_000_000) s"))
        }
        return promise.futureResult
    }

    private func upgradeSucceeded() {
        guard !isClosed else { return }
        isUpgraded = true
        upgraded.succeed(())
    }

    fileprivate func finish(_ error: LoadError) {
        guard !isClosed else { return }
        isClosed = true
        if !isUpgraded { upgraded.fail(error) }
        if let waiter {
            self.waiter = nil
            waiterTimer?.cancel()
            waiterTimer = nil
            waiter.fail(error)
        }
        closed.succeed(())
    }

    // MARK: ChannelInboundHandler

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(LoadError("the connection closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A TLS connection the broker closed without close_notify, a reset, a frame NIO's
        // decoder refused: it is over.
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let onWritable { onWritable() }
        context.fireChannelWritabilityChanged()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .binary:
            // The payload is a slice of NIO's read buffer, not a copy.
            if let onBinary { onBinary(frame.unmaskedData) } else { unhandledBinary += 1 }
        case .text:
            deliverText(frame.unmaskedData)
        case .ping:
            context.writeAndFlush(wrapOutboundOut(LoadFrame.control(.pong, data: frame.unmaskedData)), promise: nil)
        case .connectionClose:
            let payload = frame.unmaskedData
            if payload.readableBytes >= 2 { closeCode = payload.getInteger(at: payload.readerIndex, as: UInt16.self) }
            if !sentClose {
                sentClose = true
                context.writeAndFlush(wrapOutboundOut(LoadFrame.control(.connectionClose, data: payload)), promise: nil)
            }
        default:
            // Pongs. No continuation frame gets here: NIOWebSocketFrameAggregator joins them.
            break
        }
    }

    private func deliverText(_ payload: ByteBuffer) {
        if let onText {
            onText(payload)
            return
        }
        var text = payload
        guard let message = try? ControlMessage.decode(from: &text) else { return }
        if let waiter {
            self.waiter = nil
            waiterTimer?.cancel()
            waiterTimer = nil
            waiter.succeed(message)
        } else {
            inbox.append(message)
        }
    }
}

/// Added when the broker answers the upgrade request with anything but 101 (NIO's HTTP codec
/// is still in place then): fails the connect with the broker's status and closes.
private final class LoadUpgradeRefusal: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let socket: LoadSocket

    init(socket: LoadSocket) {
        self.socket = socket
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let head) = unwrapInboundIn(data) else { return }
        socket.finish(LoadError("the broker refused the WebSocket upgrade: HTTP \(head.status.code) \(head.status.reasonPhrase)"))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        socket.finish(LoadError("the broker refused the WebSocket upgrade"))
        context.fireChannelInactive()
    }
}
