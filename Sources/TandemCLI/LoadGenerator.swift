import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import TandemProtocol

/// One WebSocket connection of the load generator: RFC 6455 over TLS, written for the bench
/// (bench/README.md). It frames, masks and parses by itself and hands whole messages to hooks
/// on its event loop, so a message costs the generator little besides TLS: no JSON, no task
/// hop, no copy of received payloads. Outgoing messages are encoded and masked once by the
/// caller (``LoadFrame``) and the same buffer is written again and again.
///
/// Without hooks, text messages are decoded into ``ControlMessage``s and queued for
/// ``waitFor(_:timeout:_:)`` (the setup), binary ones are counted and dropped. Pings are
/// answered and the broker's close is echoed, as any client does.
///
/// Everything except the `async` methods, ``send(_:)`` and ``close()`` runs on ``eventLoop``
/// (hence `@unchecked Sendable`: the state is confined to that loop).
final class LoadSocket: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let eventLoop: any EventLoop
    private let hostHeader: String
    private let upgraded: EventLoopPromise<Void>
    private let closed: EventLoopPromise<Void>
    private var context: ChannelHandlerContext?
    /// The HTTP response head being read; nil once upgraded.
    private var handshake: ByteBuffer? = ByteBuffer()
    private var isUpgraded = false
    /// Received bytes not yet parsed into frames.
    private var buffer = ByteBuffer()
    /// Whether ``buffer`` is the load generator's own copy (not the read's buffer).
    private var ownsBuffer = false
    private var fragments: ByteBuffer?
    private var fragmentOpcode: UInt8 = 0
    private var inbox: [ControlMessage] = []
    private var waiter: EventLoopPromise<ControlMessage>?
    private var waiterTimer: Scheduled<Void>?
    private var upgradeTimer: Scheduled<Void>?
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

    private init(eventLoop: any EventLoop, hostHeader: String) {
        self.eventLoop = eventLoop
        self.hostHeader = hostHeader
        self.upgraded = eventLoop.makePromise(of: Void.self)
        self.closed = eventLoop.makePromise(of: Void.self)
    }

    /// Connects over TLS (SNI and certificate name `localhost`), upgrades to a WebSocket on
    /// `/v1/ws` offering `tandem.v1`, and returns once the broker answered 101.
    ///
    /// `receiveBuffer` sets `SO_RCVBUF` before connecting (0: the kernel's autotuning).
    static func connect(to target: LoadTarget, on eventLoop: any EventLoop, receiveBuffer: Int = 0) async throws -> LoadSocket {
        let socket = LoadSocket(eventLoop: eventLoop, hostHeader: "\(target.host):\(target.port)")
        let sslContext = target.sslContext
        var bootstrap = ClientBootstrap(group: eventLoop).connectTimeout(.seconds(30))
        if receiveBuffer > 0 {
            bootstrap = bootstrap.channelOption(ChannelOptions.socketOption(.so_rcvbuf), value: SocketOptionValue(receiveBuffer))
        }
        bootstrap = bootstrap.channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                let tls = try NIOSSLClientHandler(context: sslContext, serverHostname: "localhost")
                try channel.pipeline.syncOperations.addHandler(tls)
                try channel.pipeline.syncOperations.addHandler(socket)
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

    // MARK: Off the event loop

    /// Writes and flushes a complete, already masked frame (``LoadFrame``), from anywhere.
    func send(_ frame: ByteBuffer) {
        eventLoop.execute { self.writeAndFlush(frame) }
    }

    /// Encodes, masks and sends one control message (setup traffic; hot paths pre-encode).
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

    /// Queues an already masked frame; nothing goes out before ``flush()``.
    func write(_ frame: ByteBuffer) {
        context?.write(wrapOutboundOut(frame), promise: nil)
    }

    func flush() {
        context?.flush()
    }

    func writeAndFlush(_ frame: ByteBuffer) {
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

    private func finish(_ error: LoadError) {
        guard !isClosed else { return }
        isClosed = true
        upgradeTimer?.cancel()
        upgradeTimer = nil
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

    func channelActive(context: ChannelHandlerContext) {
        // NIOSSL holds this until its handshake is done. No Origin header: not a web page.
        let request =
            "GET \(TandemWire.webSocketPath) HTTP/1.1\r\nHost: \(hostHeader)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            + "Sec-WebSocket-Protocol: \(TandemWire.subprotocol)\r\n\r\n"
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: request)), promise: nil)
        // The TCP connect has its own timeout; this one bounds TLS and the upgrade.
        upgradeTimer = context.eventLoop.scheduleTask(in: .seconds(60)) {
            guard !self.isUpgraded else { return }
            self.context?.close(promise: nil)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(LoadError(isUpgraded ? "the connection closed" : "the connection closed before the WebSocket upgrade"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A TLS connection the broker closed without close_notify, a reset: it is over.
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let onWritable { onWritable() }
        context.fireChannelWritabilityChanged()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if var head = handshake {
            head.writeBuffer(&incoming)
            guard let end = Self.endOfHead(head) else {
                handshake = head
                return
            }
            handshake = nil
            let statusLine = head.getString(at: head.readerIndex, length: min(end, 80)) ?? ""
            head.moveReaderIndex(forwardBy: end + 4)
            guard statusLine.hasPrefix("HTTP/1.1 101") else {
                let status = statusLine.prefix { !$0.isNewline }
                finish(LoadError("the broker refused the WebSocket upgrade: \(status)"))
                context.close(promise: nil)
                return
            }
            isUpgraded = true
            upgradeTimer?.cancel()
            upgradeTimer = nil
            upgraded.succeed(())
            incoming = head
        }
        if buffer.readableBytes == 0 {
            // The common case: the last read ended on a frame boundary. Parse the read's buffer
            // itself; payloads are handed on as slices of it, never copied.
            buffer = incoming
            ownsBuffer = false
        } else {
            if buffer.readerIndex >= 1 << 16 { buffer.discardReadBytes() }
            buffer.writeBuffer(&incoming)
        }
        let needed = parseFrames(context: context)
        // Keep nothing of the read's buffer: NIOSSL writes the next read into the same storage,
        // which it would have to copy if it were still referenced here.
        if buffer.readableBytes == 0 {
            buffer = ByteBuffer()
        } else if !ownsBuffer {
            var own = context.channel.allocator.buffer(capacity: max(needed, buffer.readableBytes))
            own.writeBuffer(&buffer)
            buffer = own
            ownsBuffer = true
        } else if needed > buffer.readableBytes {
            buffer.reserveCapacity(minimumWritableBytes: needed - buffer.readableBytes)
        }
    }

    /// Offset of the blank line ending the HTTP head, from the reader index.
    private static func endOfHead(_ buffer: ByteBuffer) -> Int? {
        let view = buffer.readableBytesView
        var index = view.startIndex
        while index + 3 < view.endIndex {
            if view[index] == 13, view[index + 1] == 10, view[index + 2] == 13, view[index + 3] == 10 {
                return index - view.startIndex
            }
            index += 1
        }
        return nil
    }

    /// Hands on every complete frame in ``buffer``; returns the bytes the incomplete frame at
    /// its front needs in all (header included), when that is known, else 0.
    private func parseFrames(context: ChannelHandlerContext) -> Int {
        while !isClosed {
            let readable = buffer.readableBytes
            guard readable >= 2 else { return 0 }
            let base = buffer.readerIndex
            let first = buffer.getInteger(at: base, as: UInt8.self)!
            let second = buffer.getInteger(at: base + 1, as: UInt8.self)!
            var headerLength = 2
            var length = Int(second & 0x7F)
            if length == 126 {
                guard readable >= 4 else { return 0 }
                length = Int(buffer.getInteger(at: base + 2, as: UInt16.self)!)
                headerLength = 4
            } else if length == 127 {
                guard readable >= 10 else { return 0 }
                length = Int(truncatingIfNeeded: buffer.getInteger(at: base + 2, as: UInt64.self)!)
                headerLength = 10
            }
            guard second & 0x80 == 0, (0...(1 << 30)).contains(length) else {
                // Servers never mask (RFC 6455 §5.1); a masked or absurd frame ends the connection.
                finish(LoadError("the broker sent a malformed WebSocket frame"))
                context.close(promise: nil)
                return 0
            }
            guard readable >= headerLength + length else { return headerLength + length }
            buffer.moveReaderIndex(forwardBy: headerLength)
            let payload = buffer.readSlice(length: length)!
            frame(fin: first & 0x80 != 0, opcode: first & 0x0F, payload: payload, context: context)
        }
        return 0
    }

    private func frame(fin: Bool, opcode: UInt8, payload: ByteBuffer, context: ChannelHandlerContext) {
        switch opcode {
        case 0x0:
            guard var message = fragments else { return }
            var more = payload
            message.writeBuffer(&more)
            if fin {
                fragments = nil
                deliver(opcode: fragmentOpcode, payload: message)
            } else {
                fragments = message
            }
        case 0x1, 0x2:
            if fin {
                deliver(opcode: opcode, payload: payload)
            } else {
                fragments = payload
                fragmentOpcode = opcode
            }
        case 0x8:
            if payload.readableBytes >= 2 { closeCode = payload.getInteger(at: payload.readerIndex, as: UInt16.self) }
            if !sentClose {
                sentClose = true
                context.writeAndFlush(wrapOutboundOut(LoadFrame.frame(opcode: 0x8, payload: payload)), promise: nil)
            }
        case 0x9:
            context.writeAndFlush(wrapOutboundOut(LoadFrame.frame(opcode: 0xA, payload: payload)), promise: nil)
        default:
            break
        }
    }

    private func deliver(opcode: UInt8, payload: ByteBuffer) {
        if opcode == 0x2 {
            if let onBinary { onBinary(payload) } else { unhandledBinary += 1 }
            return
        }
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
