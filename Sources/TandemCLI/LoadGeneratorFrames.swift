import NIOCore
import NIOSSL
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

/// Client WebSocket frames as the load generator writes them (RFC 6455 §5.2).
///
/// Every frame is masked with one fixed key, so a message is masked once and its bytes are
/// reused for every send; the broker unmasks each frame exactly as it would any client's
/// (the key is not zero, so no unmask can be skipped).
enum LoadFrame {
    static let maskKey: [UInt8] = [0x5A, 0xC3, 0x17, 0x8E]

    /// FIN, `opcode`, the mask bit, the payload length and the key.
    static func writeHeader(opcode: UInt8, length: Int, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(0x80) | opcode)
        if length < 126 {
            buffer.writeInteger(UInt8(0x80) | UInt8(length))
        } else if length <= 0xFFFF {
            buffer.writeInteger(UInt8(0x80 | 126))
            buffer.writeInteger(UInt16(length))
        } else {
            buffer.writeInteger(UInt8(0x80 | 127))
            buffer.writeInteger(UInt64(length))
        }
        buffer.writeBytes(maskKey)
    }

    /// Appends `bytes` masked with the key from key position `phase` (the offset of these
    /// bytes in the frame's payload, modulo 4).
    static func writeMasked(_ bytes: ByteBuffer, phase: Int = 0, into buffer: inout ByteBuffer) {
        let offset = buffer.writerIndex - buffer.readerIndex
        let count = bytes.readableBytes
        buffer.writeImmutableBuffer(bytes)
        let key = maskKey
        buffer.withUnsafeMutableReadableBytes { raw in
            for index in 0..<count {
                raw[offset + index] ^= key[(phase + index) & 3]
            }
        }
    }

    /// A whole masked frame.
    static func frame(opcode: UInt8, payload: ByteBuffer) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: payload.readableBytes + 14)
        writeHeader(opcode: opcode, length: payload.readableBytes, into: &buffer)
        writeMasked(payload, into: &buffer)
        return buffer
    }

    /// A control message as a masked text frame.
    static func text(_ message: ControlMessage) -> ByteBuffer {
        frame(opcode: 0x1, payload: ByteBuffer(string: message.jsonText))
    }
}

/// The frames of one media stream as the load generator sends them: the payload masked once
/// and shared by every frame; per frame only the WebSocket header and the 24-byte media
/// header (sequence, capture time) are written. The media header is a multiple of 4 bytes
/// long, so the payload's masking does not depend on it.
struct LoadMediaFrames: Sendable {
    let payload: ByteBuffer
    let payloadLength: Int
    let streamID: UInt16

    init(size: Int, streamID: UInt16 = 1) {
        var masked = ByteBufferAllocator().buffer(capacity: size)
        LoadFrame.writeMasked(ByteBuffer(repeating: 0x42, count: size), into: &masked)
        self.payload = masked
        self.payloadLength = size
        self.streamID = streamID
    }

    /// Bytes of one binary message (media header + payload), as the receiver counts them.
    var messageLength: Int { MediaFrameHeader.size + payloadLength }

    /// The WebSocket header and the masked media header of a JPEG keyframe; write ``payload`` after it.
    func header(sequence: UInt32, timestampMicros: UInt64) -> ByteBuffer {
        var media = ByteBufferAllocator().buffer(capacity: MediaFrameHeader.size)
        MediaFrameHeader(
            flags: [.keyframe], codec: .jpeg, streamID: streamID, sequence: sequence, timestampMicros: timestampMicros,
            payloadLength: UInt32(payloadLength)
        ).encode(into: &media)
        var buffer = ByteBufferAllocator().buffer(capacity: 14 + MediaFrameHeader.size)
        LoadFrame.writeHeader(opcode: 0x2, length: messageLength, into: &buffer)
        LoadFrame.writeMasked(media, into: &buffer)
        return buffer
    }

    /// Writes frame `sequence`, captured now, on `socket` and flushes (on its event loop).
    func write(sequence: UInt32, on socket: LoadSocket) {
        socket.write(header(sequence: sequence, timestampMicros: Bench.nowMicros()))
        socket.write(payload)
        socket.flush()
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
