import NIOCore
import NIOWebSocket

/// Writes a participant's ``ParticipantOutbox`` into its channel, on the channel's event loop.
///
/// Sits right behind the WebSocket frame decoder (and ``WebSocketUnmasker``), before the
/// WebSocket library's own handler, so it sees the close frames going either way: once the
/// peer or the library has sent a close, nothing more is written (RFC 6455 §5.5.1). An
/// enqueue schedules one drain on the
/// event loop (not one per message); the drain writes queued items as WebSocket frames while
/// the channel is writable and flushes once at the end, or as soon as ``flushThreshold``
/// bytes are unflushed: the TLS handler encrypts only on flush, so until then the channel
/// looks writable however much is written (one drain used to push the whole media queue,
/// 1.6 MB of 200 KB frames, past the point where the queue could still drop it). When the channel stops being
/// writable it stops, and resumes when the channel says it is writable again, so frames wait
/// in the droppable media queue rather than in socket buffers, and the queue's policy
/// decides what is stale. The close goes back to the connection's task
/// (``ParticipantOutbox/closing()``), which sends it through the WebSocket library.
///
/// State is confined to the event loop; only ``scheduleDrain()`` is called from elsewhere.
final class OutboxWriter: ChannelDuplexHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = WebSocketFrame

    private let eventLoop: any EventLoop
    private let outbox: ParticipantOutbox
    private let activity: ConnectionActivity
    private var context: ChannelHandlerContext?
    private var closed = false

    /// Unflushed bytes after which a drain flushes before it writes more: the channel's
    /// writability (its high-water mark, the same figure) then counts them.
    let flushThreshold: Int

    init(eventLoop: any EventLoop, outbox: ParticipantOutbox, activity: ConnectionActivity, flushThreshold: Int = 64 * 1024) {
        self.eventLoop = eventLoop
        self.outbox = outbox
        self.activity = activity
        self.flushThreshold = flushThreshold
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        // The channel may have gone inactive before this handler was added.
        closed = true
        drainAfterClose()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // The peer's close: the library answers it; nothing of ours may follow.
        if unwrapInboundIn(data).opcode == .connectionClose { closed = true }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // The library's close (ours, passed on by the connection's task, or its own).
        if unwrapOutboundIn(data).opcode == .connectionClose { closed = true }
        context.write(data, promise: promise)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { drain() }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        drainAfterClose()
        context.fireChannelInactive()
    }

    /// Called by the outbox (any thread) when it has items and no drain is scheduled.
    func scheduleDrain() {
        // Deferred even on the event loop: a batch forms meanwhile.
        eventLoop.execute { self.drain() }
    }

    /// Writes queued items while the channel is writable; one flush for the batch. A close
    /// that discards what is queued is handed on at once: it writes nothing here.
    private func drain() {
        guard let context, !closed else {
            // The connection is gone, or a close was sent: let the task waiting for the close go on.
            drainAfterClose()
            return
        }
        if let (code, reason) = outbox.takeAbandonedClose() {
            activity.touch()
            outbox.reached(close: code, reason: reason)
            return
        }
        var wrote = false
        var pending = false
        var unflushed = 0
        while context.channel.isWritable, let item = outbox.pop() {
            switch item {
            case .text(let buffer):
                context.write(NIOAny(WebSocketFrame(fin: true, opcode: .text, data: buffer)), promise: nil)
                wrote = true
                pending = true
                unflushed += buffer.readableBytes
            case .binary(let buffer):
                context.write(NIOAny(WebSocketFrame(fin: true, opcode: .binary, data: buffer)), promise: nil)
                wrote = true
                pending = true
                unflushed += buffer.readableBytes
            case .close(let code, let reason):
                if pending { context.flush() }
                activity.touch()
                outbox.reached(close: code, reason: reason)
                return
            }
            if unflushed >= flushThreshold {
                context.flush()
                unflushed = 0
                pending = false
            }
        }
        if pending { context.flush() }
        if wrote { activity.touch() }
        // Not writable: what is left waits for channelWritabilityChanged. The outbox still
        // believes a drain is scheduled, so enqueues do not wake us for nothing.
    }

    /// Discards what is queued up to the close after the channel closed.
    private func drainAfterClose() {
        while let item = outbox.pop() {
            if case .close(let code, let reason) = item {
                outbox.reached(close: code, reason: reason)
                return
            }
        }
    }
}
