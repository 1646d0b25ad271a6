import NIOCore

/// A binary media frame: a fixed 24-byte header followed by the codec payload.
///
/// The payload is kept as a `ByteBuffer` slice of the received message, so decoding
/// never copies it. See [protocol/README.md § Binary media frames](../../protocol/README.md#4-binary-media-frames).
public struct MediaFrame: Sendable, Equatable {
    public var header: MediaFrameHeader
    public var payload: ByteBuffer

    public init(header: MediaFrameHeader, payload: ByteBuffer) {
        self.header = header
        self.payload = payload
    }

    public init(
        streamID: UInt16,
        sequence: UInt32,
        codec: MediaCodec,
        keyframe: Bool,
        timestampMicros: UInt64,
        payload: ByteBuffer
    ) {
        self.header = MediaFrameHeader(
            flags: keyframe ? [.keyframe] : [],
            codec: codec,
            streamID: streamID,
            sequence: sequence,
            timestampMicros: timestampMicros,
            payloadLength: UInt32(payload.readableBytes)
        )
        self.payload = payload
    }

    /// Decodes one frame from the front of `buffer`.
    ///
    /// Returns `nil` without consuming anything when `buffer` does not yet hold the whole
    /// frame, so the decoder can be fed any split of the bytes. Throws on a malformed header.
    public static func decode(from buffer: inout ByteBuffer) throws(ProtocolError) -> MediaFrame? {
        guard let header = try MediaFrameHeader.peek(in: buffer) else { return nil }
        let total = Int(header.headerLength) + Int(header.payloadLength)
        guard buffer.readableBytes >= total else { return nil }
        buffer.moveReaderIndex(forwardBy: Int(header.headerLength))
        let payload = buffer.readSlice(length: Int(header.payloadLength))!
        return MediaFrame(header: header, payload: payload)
    }

    /// Decodes a complete WebSocket binary message that must hold exactly one frame.
    public static func decodeMessage(_ message: ByteBuffer) throws(ProtocolError) -> MediaFrame {
        var buffer = message
        guard let frame = try decode(from: &buffer) else { throw .truncatedFrame }
        guard buffer.readableBytes == 0 else { throw .payloadLengthMismatch }
        return frame
    }

    /// Appends the header and payload to `buffer`.
    public func encode(into buffer: inout ByteBuffer) {
        var header = self.header
        header.headerLength = UInt8(MediaFrameHeader.size)
        header.payloadLength = UInt32(payload.readableBytes)
        header.encode(into: &buffer)
        buffer.writeImmutableBuffer(payload)
    }

    /// The frame as one binary WebSocket message.
    public func encoded(allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: MediaFrameHeader.size + payload.readableBytes)
        encode(into: &buffer)
        return buffer
    }
}
