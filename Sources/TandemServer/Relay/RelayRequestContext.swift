import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// Request context of the WebSocket router: keeps the connection's channel, so the relay
/// can cut a participant whose writes are stalled.
struct RelayRequestContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<RelayRequestContext>
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.webSocket = .init()
        self.channel = source.channel
    }
}
