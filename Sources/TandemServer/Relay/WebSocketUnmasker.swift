import NIOCore
import NIOWebSocket

/// Unmasks each client frame once, in place and eight bytes at a time, between NIOWebSocket's
/// frame decoder and the WebSocket handler, and clears its masking key, so that
/// `WebSocketFrame.unmaskedData` (called by WSCore for every frame) has nothing left to do.
/// NIOWebSocket's own unmask walks the payload a byte at a time with a `% 4` per byte; on
/// 200 KB frames it was a quarter of the broker's CPU (issue 14). The result is byte for
/// byte NIOWebSocket's (``ByteBuffer/unmaskWebSocketPayload(_:indexOffset:)`` is tested
/// against `webSocketUnmask`, the RFC 6455 example, and Autobahn).
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
        payload.unmaskWebSocketPayload(key, indexOffset: (frame.extensionData?.readableBytes ?? 0) % 4)
        if var extensionData = frame.extensionData {
            frame.extensionData = nil
            extensionData.unmaskWebSocketPayload(key)
            frame.extensionData = extensionData
        }
        frame.data = payload
        frame.maskKey = nil
        context.fireChannelRead(wrapInboundOut(frame))
    }
}

extension ByteBuffer {
    /// The WebSocket masking operation (RFC 6455 §5.3) on the readable bytes, eight bytes at a
    /// time: the same result as NIOWebSocket's `webSocketUnmask(_:indexOffset:)`.
    mutating func unmaskWebSocketPayload(_ key: WebSocketMaskingKey, indexOffset: Int = 0) {
        // The key, rotated by the offset, repeated over eight bytes in memory order.
        var key32: UInt32 = 0
        withUnsafeMutableBytes(of: &key32) { bytes in
            for index in 0..<4 { bytes[index] = key[(indexOffset + index) % 4] }
        }
        let pattern8 = UInt64(key32) | UInt64(key32) << 32
        withUnsafeMutableReadableBytes { bytes in
            let count = bytes.count
            var index = 0
            while index + 8 <= count {
                let word = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                bytes.storeBytes(of: word ^ pattern8, toByteOffset: index, as: UInt64.self)
                index += 8
            }
            withUnsafeBytes(of: pattern8) { mask in
                while index < count {
                    bytes[index] ^= mask[index % 8]
                    index += 1
                }
            }
        }
    }
}
