import NIOCore
import NIOWebSocket
import TandemProtocol

/// Unmasks each client frame once, in place and eight bytes at a time, between NIOWebSocket's
/// frame decoder and the WebSocket handler, and clears its masking key, so that
/// `WebSocketFrame.unmaskedData` (called by WSCore for every frame) has nothing left to do.
/// NIOWebSocket's own unmask walks the payload a byte at a time with a `% 4` per byte; on
/// 200 KB frames it was a quarter of the broker's CPU (issue 14). The result is byte for
/// byte NIOWebSocket's (``WebSocketMasking/unmask(_:maskKey:indexOffset:)``, in
/// TandemProtocol, is tested against `webSocketUnmask`, the RFC 6455 example, and Autobahn).
final class WebSocketUnmasker: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var frame = unwrapInboundIn(data)
        guard let key = frame.maskKey else {
            context.fireChannelRead(data)
            return
        }
        var payload = frame.data
        // Drop the frame's reference first, so the payload's storage is shared only with
        // what the decoder still holds.
        frame.data = ByteBuffer()
        let maskKey = key.wireValue
        WebSocketMasking.unmask(&payload, maskKey: maskKey, indexOffset: (frame.extensionData?.readableBytes ?? 0) % 4)
        if var extensionData = frame.extensionData {
            frame.extensionData = nil
            WebSocketMasking.unmask(&extensionData, maskKey: maskKey)
            frame.extensionData = extensionData
        }
        frame.data = payload
        frame.maskKey = nil
        context.fireChannelRead(wrapInboundOut(frame))
    }
}

extension WebSocketMaskingKey {
    /// The key in ``WebSocketMasking``'s form: its four bytes in wire order, the first most significant.
    var wireValue: UInt32 {
        var value: UInt32 = 0
        for byte in self {
            value = value << 8 | UInt32(byte)
        }
        return value
    }
}
