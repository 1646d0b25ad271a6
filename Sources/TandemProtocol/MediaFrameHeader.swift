import NIOCore

/// The 24-byte header in front of every binary media frame.
///
/// ```
/// offset size field
///  0     1    version          = 1
///  1     1    header length    >= 24 (bytes past 24 are skipped by v1 readers)
///  2     1    kind             = 1 (media)
///  3     1    flags            bit 0: keyframe; other bits reserved (send 0, ignore)
///  4     1    codec            1 jpeg, 2 png, 3 webp, 4 h264 (Annex-B)
///  5     1    reserved         = 0
///  6     2    stream id        big-endian
///  8     4    sequence         big-endian, per stream, wraps
/// 12     8    capture time     big-endian, microseconds since the Unix epoch
/// 20     4    payload length   big-endian, must equal the bytes after the header
/// ```
/// See [protocol/README.md § Binary media frames](../../protocol/README.md#4-binary-media-frames).
public struct MediaFrameHeader: Sendable, Equatable {
    public static let size = 24
    /// The largest audio payload the broker relays (protocol/README.md §4.1): an Opus
    /// packet is at most 1275 bytes a frame, 120 ms at most 6 frames.
    public static let maxAudioPayload = 16 * 1024
    public static let version: UInt8 = 1
    public static let mediaKind: UInt8 = 1

    public struct Flags: OptionSet, Sendable, Equatable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// The frame can be decoded without earlier frames.
        public static let keyframe = Flags(rawValue: 1 << 0)
    }

    public var headerLength: UInt8 = UInt8(MediaFrameHeader.size)
    public var flags: Flags
    public var codec: MediaCodec
    public var streamID: UInt16
    public var sequence: UInt32
    public var timestampMicros: UInt64
    public var payloadLength: UInt32

    public var isKeyframe: Bool { flags.contains(.keyframe) }

    public init(
        flags: Flags,
        codec: MediaCodec,
        streamID: UInt16,
        sequence: UInt32,
        timestampMicros: UInt64,
        payloadLength: UInt32
    ) {
        self.flags = flags
        self.codec = codec
        self.streamID = streamID
        self.sequence = sequence
        self.timestampMicros = timestampMicros
        self.payloadLength = payloadLength
    }

    /// Reads the header at the reader index of `buffer` without consuming anything.
    ///
    /// Returns `nil` when fewer bytes than the header are available yet.
    public static func peek(in buffer: ByteBuffer) throws(ProtocolError) -> MediaFrameHeader? {
        let base = buffer.readerIndex
        guard let version = buffer.getInteger(at: base, as: UInt8.self) else { return nil }
        guard version == Self.version else { throw .unsupportedFrameVersion }
        guard let headerLength = buffer.getInteger(at: base + 1, as: UInt8.self) else { return nil }
        guard Int(headerLength) >= Self.size else { throw .badHeaderLength }
        guard buffer.readableBytes >= Int(headerLength) else { return nil }
        let kind = buffer.getInteger(at: base + 2, as: UInt8.self)!
        guard kind == Self.mediaKind else { throw .unknownFrameKind }
        let flags = Flags(rawValue: buffer.getInteger(at: base + 3, as: UInt8.self)! & Flags.keyframe.rawValue)
        guard let codec = MediaCodec(rawValue: buffer.getInteger(at: base + 4, as: UInt8.self)!) else {
            throw .unknownCodec
        }
        var header = MediaFrameHeader(
            flags: flags,
            codec: codec,
            streamID: buffer.getInteger(at: base + 6, endianness: .big, as: UInt16.self)!,
            sequence: buffer.getInteger(at: base + 8, endianness: .big, as: UInt32.self)!,
            timestampMicros: buffer.getInteger(at: base + 12, endianness: .big, as: UInt64.self)!,
            payloadLength: buffer.getInteger(at: base + 20, endianness: .big, as: UInt32.self)!
        )
        header.headerLength = headerLength
        return header
    }

    /// Validates a complete binary WebSocket message and returns its header.
    ///
    /// This is what the broker calls on the hot path: it reads 24 bytes and never touches the payload.
    public static func validate(message: ByteBuffer) throws(ProtocolError) -> MediaFrameHeader {
        guard let header = try peek(in: message) else { throw .truncatedFrame }
        let total = Int(header.headerLength) + Int(header.payloadLength)
        guard total <= message.readableBytes else { throw .truncatedFrame }
        guard total == message.readableBytes else { throw .payloadLengthMismatch }
        return header
    }

    /// Appends the 24-byte header to `buffer`. Always writes header length 24.
    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(Self.version)
        buffer.writeInteger(UInt8(Self.size))
        buffer.writeInteger(Self.mediaKind)
        buffer.writeInteger(flags.rawValue)
        buffer.writeInteger(codec.rawValue)
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(streamID, endianness: .big)
        buffer.writeInteger(sequence, endianness: .big)
        buffer.writeInteger(timestampMicros, endianness: .big)
        buffer.writeInteger(payloadLength, endianness: .big)
    }
}
