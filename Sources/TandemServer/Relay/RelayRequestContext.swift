import Atomics
import Hummingbird
import HummingbirdWebSocket
import NIOConcurrencyHelpers
import NIOCore

/// Request context of the WebSocket router: keeps a weak reference to the connection's
/// channel, which the relay needs for its event loop, its pipeline and to cut a participant
/// whose writes are stalled.
///
/// hummingbird-websocket keeps the context in a cycle it never breaks
/// (``WebSocketHandlerReference`` stores a value holding the context, which holds the
/// reference): every WebSocket's context stayed alive after it closed, and with it, while
/// the channel was held strongly here, the channel and its receive buffers (about 20 KB;
/// `bench/results.md`, the rounds soak). The channel is held weakly, and the reference is
/// kept in a slot emptied when the channel closes, whether or not the upgrade reached its
/// handler, which breaks the cycle.
struct RelayRequestContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    private let handlerSlot: NIOLockedValueBox<WebSocketHandlerReference<RelayRequestContext>?>
    private let channelReference: WeakChannel

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        let slot = NIOLockedValueBox<WebSocketHandlerReference<RelayRequestContext>?>(WebSocketHandlerReference())
        self.handlerSlot = slot
        self.channelReference = WeakChannel(source.channel)
        // Emptied when the connection closes: after its handler ran, or when the peer hung up first.
        source.channel.closeFuture.whenComplete { _ in slot.withLockedValue { $0 = nil } }
    }

    /// The router puts the route's handler here and the upgrade reads it back, both before
    /// the connection runs; once the channel closed it is an empty reference.
    var webSocket: WebSocketHandlerReference<RelayRequestContext> {
        handlerSlot.withLockedValue { $0 } ?? WebSocketHandlerReference()
    }

    /// The connection's channel; nil once it closed and was released.
    var channel: (any Channel)? { channelReference.channel }
}

/// A weak reference to a channel. Set once, at init.
final class WeakChannel: @unchecked Sendable {
    private(set) weak var channel: (any Channel)?
    /// How many exist: one per WebSocket request context still alive (the tests check that
    /// closed connections give theirs back).
    static let live = ManagedAtomic(0)

    init(_ channel: any Channel) {
        self.channel = channel
        Self.live.wrappingIncrement(ordering: .relaxed)
    }

    deinit {
        Self.live.wrappingDecrement(ordering: .relaxed)
    }
}
