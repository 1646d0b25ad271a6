import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// Request context of the WebSocket router: keeps a weak reference to the connection's
/// channel, which the relay needs for its event loop, its pipeline and to cut a participant
/// whose writes are stalled.
///
/// Weak because hummingbird-websocket keeps the context in a cycle that is never broken
/// (``WebSocketHandlerReference`` stores a value holding the context, which holds the
/// reference): a strong channel here kept every WebSocket's channel, with its receive
/// buffers (about 20 KB), alive after it closed (`bench/results.md`, the rounds soak).
struct RelayRequestContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<RelayRequestContext>
    private let channelReference: WeakChannel

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.webSocket = .init()
        self.channelReference = WeakChannel(source.channel)
    }

    /// The connection's channel; nil once it closed and was released.
    var channel: (any Channel)? { channelReference.channel }
}

/// A weak reference to a channel. Set once, at init.
final class WeakChannel: @unchecked Sendable {
    private(set) weak var channel: (any Channel)?

    init(_ channel: any Channel) {
        self.channel = channel
    }
}
