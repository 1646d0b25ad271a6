import Foundation
import NIOCore
import TandemClient

/// Reads Ogg pages (RFC 3533 §6) for the tests: ffmpeg's Ogg Opus files, to take their Opus
/// packets, and the files `OggOpusWriter` writes, to check their pages. Each page's checksum
/// is checked (``OggCRC``).
struct OggPageReader {
    struct Page {
        var flags: UInt8
        var granulePosition: Int64
        var serialNumber: UInt32
        var sequence: UInt32
        var checksum: UInt32
        /// The lacing values.
        var segments: [UInt8]
        var body: [UInt8]
        /// The whole page, as read.
        var bytes: [UInt8]

        var beginsStream: Bool { flags & 0x02 != 0 }
        var endsStream: Bool { flags & 0x04 != 0 }
        var continuesPacket: Bool { flags & 0x01 != 0 }

        /// The page with its checksum field set to zero: what the checksum covers.
        var zeroedChecksum: [UInt8] {
            var bytes = self.bytes
            bytes.replaceSubrange(22..<26, with: [0, 0, 0, 0])
            return bytes
        }
    }

    static func pages(_ data: Data) throws -> [Page] {
        let bytes = [UInt8](data)
        var pages: [Page] = []
        var offset = 0
        while offset < bytes.count {
            guard bytes.count - offset >= 27, Array(bytes[offset..<offset + 4]) == Array("OggS".utf8), bytes[offset + 4] == 0 else {
                throw TestFailure("no Ogg page at byte \(offset)")
            }
            let count = Int(bytes[offset + 26])
            guard bytes.count - offset >= 27 + count else { throw TestFailure("the segment table at byte \(offset) is cut short") }
            let segments = Array(bytes[(offset + 27)..<(offset + 27 + count)])
            let length = 27 + count + segments.reduce(0) { $0 + Int($1) }
            guard bytes.count - offset >= length else { throw TestFailure("the page at byte \(offset) is cut short") }
            let whole = Array(bytes[offset..<(offset + length)])
            let page = Page(
                flags: whole[5],
                granulePosition: Int64(bitPattern: little(whole, at: 6, count: 8)),
                serialNumber: UInt32(little(whole, at: 14, count: 4)),
                sequence: UInt32(little(whole, at: 18, count: 4)),
                checksum: UInt32(little(whole, at: 22, count: 4)),
                segments: segments,
                body: Array(whole[(27 + count)...]),
                bytes: whole
            )
            guard OggCRC.checksum(page.zeroedChecksum) == page.checksum else {
                throw TestFailure("page \(pages.count) (byte \(offset)) has a wrong checksum")
            }
            pages.append(page)
            offset += length
        }
        return pages
    }

    /// The packets of `pages`, in order; a packet may go on over several pages.
    static func packets(_ pages: [Page]) -> [[UInt8]] {
        var packets: [[UInt8]] = []
        var current: [UInt8] = []
        for page in pages {
            var offset = 0
            for lacing in page.segments {
                current.append(contentsOf: page.body[offset..<(offset + Int(lacing))])
                offset += Int(lacing)
                if lacing < 255 {
                    packets.append(current)
                    current = []
                }
            }
        }
        return packets
    }

    /// The audio packets of an Ogg Opus file (its first two packets, the `OpusHead` and
    /// `OpusTags` headers, left out).
    static func opusPackets(_ data: Data) throws -> [ByteBuffer] {
        let packets = Self.packets(try pages(data))
        guard packets.count > 2, packets[0].starts(with: Array("OpusHead".utf8)), packets[1].starts(with: Array("OpusTags".utf8)) else {
            throw TestFailure("not an Ogg Opus stream with audio packets")
        }
        return packets.dropFirst(2).map { ByteBuffer(bytes: $0) }
    }

    static func little(_ bytes: [UInt8], at offset: Int, count: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<count { value |= UInt64(bytes[offset + index]) << (8 * index) }
        return value
    }
}
