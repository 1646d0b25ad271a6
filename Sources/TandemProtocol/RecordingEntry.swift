import NIOCore

/// One entry of a session recording file (`.tdrec`): a relayed media frame or a relayed
/// control message (streams, annotations, freeze), with who sent it and when.
///
/// File layout: the 8-byte ``RecordingEntry/magic``, then entries, each
/// `kind u8 · owner u8 · time u64 (µs since 1970) · length u32 · payload`, big-endian.
/// See [protocol/README.md § Recording](../../protocol/README.md#19-recording).
public enum RecordingEntry: Sendable, Equatable {
    /// The binary message exactly as relayed (Tandem frame header + payload, §4).
    case media(owner: ParticipantRole, timeMicros: UInt64, message: ByteBuffer)
    /// The canonical JSON of a relayed control message.
    case control(owner: ParticipantRole, timeMicros: UInt64, json: String)

    /// `TDREC` 0x01 `\r\n` 0x1A: the first 8 bytes of every recording.
    public static let magic: [UInt8] = [0x54, 0x44, 0x52, 0x45, 0x43, 0x01, 0x0D, 0x0A]
    public static let headerLength = 14
    /// Entries larger than this are refused as corrupt.
    public static let maxPayload = 64 << 20

    public var owner: ParticipantRole {
        switch self {
        case .media(let owner, _, _), .control(let owner, _, _): owner
        }
    }

    public var timeMicros: UInt64 {
        switch self {
        case .media(_, let time, _), .control(_, let time, _): time
        }
    }

    /// Appends the entry; the media message is written as it is (no re-encoding).
    public func encode(into buffer: inout ByteBuffer) {
        switch self {
        case .media(let owner, let time, let message):
            Self.writeHeader(kind: 1, owner: owner, time: time, length: message.readableBytes, into: &buffer)
            buffer.writeImmutableBuffer(message)
        case .control(let owner, let time, let json):
            Self.writeHeader(kind: 2, owner: owner, time: time, length: json.utf8.count, into: &buffer)
            buffer.writeString(json)
        }
    }

    /// The entry header alone (for writers that append the payload themselves).
    public static func writeHeader(kind: UInt8, owner: ParticipantRole, time: UInt64, length: Int, into buffer: inout ByteBuffer) {
        buffer.writeInteger(kind)
        buffer.writeInteger(owner == .agent ? UInt8(0) : UInt8(1))
        buffer.writeInteger(time)
        buffer.writeInteger(UInt32(length))
    }

    /// Reads one entry; nil (nothing consumed) when `buffer` does not hold a whole one yet.
    /// A damaged entry throws and consumes nothing.
    public static func decode(from buffer: inout ByteBuffer) throws(ProtocolError) -> RecordingEntry? {
        guard buffer.readableBytes >= headerLength,
            let kind = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
            let ownerByte = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self),
            let time = buffer.getInteger(at: buffer.readerIndex + 2, as: UInt64.self),
            let length = buffer.getInteger(at: buffer.readerIndex + 10, as: UInt32.self)
        else { return nil }
        guard kind == 1 || kind == 2, ownerByte <= 1, Int(length) <= maxPayload else { throw .malformedRecording }
        guard buffer.readableBytes >= headerLength + Int(length) else { return nil }
        let owner: ParticipantRole = ownerByte == 0 ? .agent : .customer
        let payload = buffer.getSlice(at: buffer.readerIndex + headerLength, length: Int(length))!
        let entry: RecordingEntry
        if kind == 1 {
            entry = .media(owner: owner, timeMicros: time, message: payload)
        } else {
            // Control payloads are UTF-8 JSON; anything else is damage (not repaired).
            guard let json = String(validating: payload.readableBytesView, as: UTF8.self) else { throw .malformedRecording }
            entry = .control(owner: owner, timeMicros: time, json: json)
        }
        // Consumed only once the whole entry is known to be good.
        buffer.moveReaderIndex(forwardBy: headerLength + Int(length))
        return entry
    }

    /// Checks and skips the magic; false when `buffer` is not a recording.
    public static func readMagic(from buffer: inout ByteBuffer) -> Bool {
        guard buffer.readBytes(length: magic.count) == magic else { return false }
        return true
    }
}
