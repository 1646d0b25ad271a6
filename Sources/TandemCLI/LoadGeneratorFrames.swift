import NIOCore
import NIOSSL
import NIOWebSocket
import TandemProtocol

/// The bench broker as the load generator reaches it: loopback, its port, and one TLS context
/// (trusting the broker's development CA) shared by every connection.
struct LoadTarget: Sendable {
    let host: String
    let port: Int
    let sslContext: NIOSSLContext

    init(port: Int, caFile: String) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.additionalTrustRoots = [.file(caFile)]
        self.host = "127.0.0.1"
        self.port = port
        self.sslContext = try NIOSSLContext(configuration: tls)
    }
}

struct LoadError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Client WebSocket frames as the load generator sends them: each distinct message is built
/// once as a `WebSocketFrame` and the same frame is written again and again.
///
/// NIO's `WebSocketFrameEncoder` writes the header and masks the payload (RFC 6455 §5.3) on
/// every write. It masks a copy: the frame's buffer is shared (by every send, and by sockets
/// on other event loops), so `ByteBuffer`'s copy-on-write leaves it as it is. That copy and
/// the byte-wise XOR are the generator's cost per sent byte. Every frame carries one fixed,
/// non-zero key, so no RNG runs per message and the broker unmasks every byte as it would
/// for any client.
enum LoadFrame {
    static let maskKey: WebSocketMaskingKey = [0x5A, 0xC3, 0x17, 0x8E]

    /// A control message as a masked text frame.
    static func text(_ message: ControlMessage) -> WebSocketFrame {
        WebSocketFrame(fin: true, opcode: .text, maskKey: maskKey, data: ByteBuffer(string: message.jsonText))
    }

    /// A masked control frame (pong, close).
    static func control(_ opcode: WebSocketOpcode, data: ByteBuffer) -> WebSocketFrame {
        WebSocketFrame(fin: true, opcode: opcode, maskKey: maskKey, data: data)
    }
}

/// The frames of one media stream as the load generator sends them: the payload is built
/// once and shared by every frame; per frame only the 24-byte media header (sequence,
/// capture time) is written.
///
/// The media header goes in the frame's `extensionData`, which `WebSocketFrameEncoder`
/// writes and masks ahead of `data` as the start of one frame's payload (no extension is
/// negotiated, so on the wire the message is the media header followed by the payload, as
/// any client sends it). The shared payload is thus never copied into a per-frame buffer;
/// the encoder's masking copy (``LoadFrame``) is the only one.
struct LoadMediaFrames: Sendable {
    let payload: ByteBuffer
    let payloadLength: Int
    let streamID: UInt16

    init(size: Int, streamID: UInt16 = 1) {
        self.payload = ByteBuffer(repeating: 0x42, count: size)
        self.payloadLength = size
        self.streamID = streamID
    }

    /// Bytes of one binary message (media header + payload), as the receiver counts them.
    var messageLength: Int { MediaFrameHeader.size + payloadLength }

    /// The binary frame of a JPEG keyframe: its media header, then the shared payload.
    func frame(sequence: UInt32, timestampMicros: UInt64) -> WebSocketFrame {
        var media = ByteBufferAllocator().buffer(capacity: MediaFrameHeader.size)
        MediaFrameHeader(
            flags: [.keyframe],
            codec: .jpeg,
            streamID: streamID,
            sequence: sequence,
            timestampMicros: timestampMicros,
            payloadLength: UInt32(payloadLength)
        ).encode(into: &media)
        return WebSocketFrame(fin: true, opcode: .binary, maskKey: LoadFrame.maskKey, data: payload, extensionData: media)
    }

    /// Writes frame `sequence`, captured now, on `socket` and flushes (on its event loop).
    func write(sequence: UInt32, on socket: LoadSocket) {
        socket.writeAndFlush(frame(sequence: sequence, timestampMicros: Bench.nowMicros()))
    }

    /// The capture time (µs since the epoch) in a received binary message's media header.
    static func timestamp(of message: ByteBuffer) -> UInt64? {
        message.getInteger(at: message.readerIndex + 12, as: UInt64.self)
    }
}

/// Monotonic nanoseconds, for intervals inside the load generator.
enum LoadClock {
    static func nanos() -> UInt64 { NIODeadline.now().uptimeNanoseconds }
}
