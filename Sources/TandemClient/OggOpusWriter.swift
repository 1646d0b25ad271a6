import NIOCore
import TandemProtocol

/// Writes Opus packets (the payloads of `opus` frames, protocol/README.md §4.1) as an Ogg
/// Opus stream (RFC 7845): the `.opus` file ffmpeg, VLC and browsers play. Its first page
/// holds the identification header `OpusHead`, its second the comment header `OpusTags`;
/// then come pages of up to 50 whole packets (a second of 20 ms packets), each with the
/// granule position of its last packet: the 48 kHz samples of all packets so far, counted
/// from each packet's TOC byte (``OpusPacket``). Gaps between packets (capture times) are
/// not kept: the stream plays its packets back to back. The last page has the end-of-stream
/// flag.
///
/// Incremental: ``headerPages()`` first, then what each ``append(_:)`` returns, then
/// ``lastPage()``. A file written live stays whole after every packet when the last page is
/// written after the completed ones and overwritten with what the next ``append(_:)`` returns
/// (the same page completed, without the flag, at the same length, then the new last page).
public struct OggOpusWriter: Sendable {
    /// Samples at 48 kHz the player drops at the start: the encoder's look-ahead (6.5 ms for
    /// libopus, which browsers' WebCodecs encoders use).
    public static let preSkip: UInt16 = 312
    /// At most this many packets go on one page.
    public static let maximumPacketsPerPage = 50
    /// The longest packet taken: one that fits the 255 lacing values of one page (packets are
    /// not split across pages). Opus packets are far smaller (at most 6 frames of 1275 bytes).
    public static let maximumPacketBytes = 255 * 255 - 1
    /// `OpusTags`' vendor string.
    public static let vendor = "tandem"

    static let beginningOfStream: UInt8 = 0x02
    static let endOfStream: UInt8 = 0x04

    /// 1 or 2 (channel mapping family 0).
    public let channels: Int
    /// The sample rate of the encoder's input, for information (Opus always decodes at 48 kHz).
    public let inputSampleRate: Int
    public let serialNumber: UInt32
    /// Packets written so far.
    public private(set) var packetCount = 0
    /// Samples at 48 kHz of the packets so far (pre-skip included): the last page's granule position.
    public private(set) var granulePosition: UInt64 = 0
    /// The packets of the open page: the last page, not complete yet.
    private var open: [ByteBuffer] = []
    private var openSegments = 0
    /// The open page's sequence number (the header pages are 0 and 1).
    private var pageSequence: UInt32 = 2

    public init(channels: Int = 1, inputSampleRate: Int = 48_000, serialNumber: UInt32 = UInt32.random(in: UInt32.min...UInt32.max)) {
        self.channels = min(max(channels, 1), 2)
        self.inputSampleRate = (1...384_000).contains(inputSampleRate) ? inputSampleRate : 48_000
        self.serialNumber = serialNumber
    }

    /// A writer for a stream announced with `decoderConfig` (`stream.start`, §5.9): its
    /// `numberOfChannels` (1 when absent) and `sampleRate` (48000 when absent).
    public init(decoderConfig: DecoderConfig?, serialNumber: UInt32 = UInt32.random(in: UInt32.min...UInt32.max)) {
        self.init(
            channels: decoderConfig?.numberOfChannels ?? 1,
            inputSampleRate: decoderConfig?.sampleRate ?? 48_000,
            serialNumber: serialNumber
        )
    }

    /// Seconds of audio so far: the granule position less the pre-skip.
    public var duration: Double {
        Double(granulePosition - min(granulePosition, UInt64(Self.preSkip))) / 48_000
    }

    /// The first two pages: `OpusHead` (version 1, the channel count, pre-skip 312, the input
    /// sample rate, gain 0, mapping family 0) with the beginning-of-stream flag, and `OpusTags`
    /// (vendor ``vendor``, no comments).
    public func headerPages() -> ByteBuffer {
        var head = ByteBuffer()
        head.writeString("OpusHead")
        head.writeInteger(UInt8(1))
        head.writeInteger(UInt8(channels))
        head.writeInteger(Self.preSkip, endianness: .little)
        head.writeInteger(UInt32(inputSampleRate), endianness: .little)
        head.writeInteger(Int16(0), endianness: .little)
        head.writeInteger(UInt8(0))
        var tags = ByteBuffer()
        tags.writeString("OpusTags")
        tags.writeInteger(UInt32(Self.vendor.utf8.count), endianness: .little)
        tags.writeString(Self.vendor)
        tags.writeInteger(UInt32(0), endianness: .little)
        var pages = Self.page(flags: Self.beginningOfStream, granule: 0, serial: serialNumber, sequence: 0, packets: [head])
        var second = Self.page(flags: 0, granule: 0, serial: serialNumber, sequence: 1, packets: [tags])
        pages.writeBuffer(&second)
        return pages
    }

    /// Adds `packet`. Returns the page it completed — the open page, when the packet does not
    /// fit on it (the packet then starts the next page) — or an empty buffer; nil when `packet`
    /// is not an Opus packet (``OpusPacket/samples(_:)``) or is longer than
    /// ``maximumPacketBytes``: it is left out.
    public mutating func append(_ packet: ByteBuffer) -> ByteBuffer? {
        guard packet.readableBytes <= Self.maximumPacketBytes, let samples = OpusPacket.samples(packet.readableBytesView) else { return nil }
        let segments = packet.readableBytes / 255 + 1
        var completed = ByteBuffer()
        if open.count >= Self.maximumPacketsPerPage || openSegments + segments > 255 {
            // The granule position is still that of the open page's last packet.
            completed = openPage(last: false)
            open = []
            openSegments = 0
            pageSequence += 1
        }
        open.append(packet)
        openSegments += segments
        packetCount += 1
        granulePosition += UInt64(samples)
        return completed
    }

    /// The open page as the stream's last page (end-of-stream flag set), or an empty buffer
    /// when no packet was added. Nothing changes: when more packets follow, the same page
    /// comes out of ``append(_:)`` without the flag.
    public func lastPage() -> ByteBuffer {
        open.isEmpty ? ByteBuffer() : openPage(last: true)
    }

    /// A whole Ogg Opus file of `packets` (those that are not Opus packets left out).
    public static func file(
        _ packets: [ByteBuffer],
        channels: Int = 1,
        inputSampleRate: Int = 48_000,
        serialNumber: UInt32 = UInt32.random(in: UInt32.min...UInt32.max)
    ) -> ByteBuffer {
        var writer = OggOpusWriter(channels: channels, inputSampleRate: inputSampleRate, serialNumber: serialNumber)
        var file = writer.headerPages()
        for packet in packets {
            if var completed = writer.append(packet) { file.writeBuffer(&completed) }
        }
        var last = writer.lastPage()
        file.writeBuffer(&last)
        return file
    }

    private func openPage(last: Bool) -> ByteBuffer {
        Self.page(flags: last ? Self.endOfStream : 0, granule: granulePosition, serial: serialNumber, sequence: pageSequence, packets: open)
    }

    /// One Ogg page (RFC 3533 §6) of whole packets: `OggS`, version 0, the flags, the granule
    /// position, serial and sequence numbers, the checksum (``OggCRC``), the segment table
    /// (each packet as lacing values of 255 ended by one below 255), then the packets.
    static func page(flags: UInt8, granule: UInt64, serial: UInt32, sequence: UInt32, packets: [ByteBuffer]) -> ByteBuffer {
        var lacing: [UInt8] = []
        for packet in packets {
            lacing.append(contentsOf: repeatElement(UInt8(255), count: packet.readableBytes / 255))
            lacing.append(UInt8(packet.readableBytes % 255))
        }
        var page = ByteBuffer()
        page.writeString("OggS")
        page.writeInteger(UInt8(0))
        page.writeInteger(flags)
        page.writeInteger(granule, endianness: .little)
        page.writeInteger(serial, endianness: .little)
        page.writeInteger(sequence, endianness: .little)
        page.writeInteger(UInt32(0), endianness: .little)
        page.writeInteger(UInt8(lacing.count))
        page.writeBytes(lacing)
        for packet in packets { page.writeImmutableBuffer(packet) }
        page.setInteger(OggCRC.checksum(page.readableBytesView), at: page.readerIndex + 22, endianness: .little)
        return page
    }
}
