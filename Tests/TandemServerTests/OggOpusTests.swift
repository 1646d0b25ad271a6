import Foundation
import NIOCore
import TandemClient
import TandemProtocol
import Testing

/// Ogg Opus files (`tandem replay`'s audio/, `--save-frames`): packet durations from the TOC
/// byte, the Ogg checksum against ffmpeg's pages, and libopus packets written here that
/// ffprobe and ffmpeg read back as the 2 seconds they are.
@Suite("Ogg Opus files: libopus packets written as a file ffprobe and ffmpeg play")
struct OggOpusTests {
    /// ``OpusPacket/samples(_:)`` of the bytes of a hand-made packet.
    func samples(_ bytes: [UInt8]) -> Int? {
        OpusPacket.samples(bytes)
    }

    @Test("a packet's duration from its TOC byte (RFC 6716 §3.1): 20 ms, 10 ms, 60 ms, and what is not a packet")
    func durations() {
        // 20 ms: SILK NB (config 1), SILK WB (9), hybrid FB (15), CELT FB (31), each code 0.
        for toc: UInt8 in [0x08, 0x48, 0x78, 0xF8] { #expect(samples([toc, 0xFF]) == 960, "TOC \(toc)") }
        // 10 ms: SILK NB (0), hybrid SWB (12), CELT FB (30).
        for toc: UInt8 in [0x00, 0x60, 0xF0] { #expect(samples([toc]) == 480, "TOC \(toc)") }
        // 60 ms: SILK WB 60 ms (config 11), or three 20 ms frames (code 3, count 3).
        #expect(samples([0x58]) == 2880)
        #expect(samples([0x7B, 0x03, 0x00]) == 2880)
        // 2.5 ms CELT (config 16), two 20 ms frames (code 1 and code 2): 40 ms.
        #expect(samples([0x80]) == 120)
        #expect(samples([0xF9, 0x00]) == 1920)
        #expect(samples([0xFA, 0x01, 0x00]) == 1920)
        #expect(OpusPacket.frameSamples(toc: 0x18) == 2880)
        // Not packets: empty, code 3 without its count or with a count of 0, over 120 ms.
        #expect(samples([]) == nil)
        #expect(samples([0x7B]) == nil)
        #expect(samples([0x7B, 0x00]) == nil)
        #expect(samples([0x1B, 0x03]) == nil)
        #expect(samples([0xFB, 0x06]) == 5760)
    }

    @Test("the Ogg CRC: its check value, and every page of ffmpeg's file recomputed with the checksum zeroed")
    func checksum() async throws {
        // CRC-32/CKSUM's check value 0x765E7680 without its final XOR.
        #expect(OggCRC.checksum(Array("123456789".utf8)) == 0x89A1_897F)
        guard await FFmpegMedia.available() else { return }
        let data = try await FFmpegMedia.opusFile()
        // The first page by hand: 27 header bytes, the segment table, the body.
        let bytes = [UInt8](data)
        let length = 27 + Int(bytes[26]) + bytes[27..<(27 + Int(bytes[26]))].reduce(0) { $0 + Int($1) }
        var first = Array(bytes[0..<length])
        let stored = OggPageReader.little(first, at: 22, count: 4)
        first.replaceSubrange(22..<26, with: [0, 0, 0, 0])
        #expect(UInt64(OggCRC.checksum(first)) == stored)
        // The reader checks every page's checksum the same way.
        let pages = try OggPageReader.pages(data)
        #expect(pages.count >= 4)
        #expect(pages.first?.beginsStream == true && pages.last?.endsStream == true)
    }

    @Test("2 s of libopus packets: a file ffprobe reads as Opus, every packet, 2 s long; ffmpeg decodes it without a word")
    func writtenFilePlays() async throws {
        guard await FFmpegMedia.available() else { return }
        let packets = try await FFmpegMedia.opusPackets(seconds: 2)
        #expect((95...110).contains(packets.count))
        let file = OggOpusWriter.file(packets, channels: 1, inputSampleRate: 48_000, serialNumber: 0x7A4D_0001)
        let path = NSTemporaryDirectory() + "tandem-written-\(UUID().uuidString).opus"
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(FileManager.default.createFile(atPath: path, contents: Data(file.readableBytesView)))
        let probe = try await FFmpegMedia.probe(path)
        #expect(probe.codec == "opus")
        #expect(probe.channels == 1 && probe.sampleRate == 48_000)
        #expect(probe.packets == packets.count)
        #expect(abs((probe.duration ?? 0) - 2) < 0.1, "duration \(probe.duration ?? -1)")
        let errors = try await FFmpegMedia.decodingErrors(path)
        #expect(errors == nil, "\(errors ?? "")")

        // The pages: OpusHead, OpusTags, then the packets byte for byte, a granule position
        // that grows by 960 a packet, the end-of-stream flag on the last page only.
        let pages = try OggPageReader.pages(Data(file.readableBytesView))
        #expect(pages.map(\.sequence) == (0..<UInt32(pages.count)).map { $0 })
        #expect(pages.allSatisfy { $0.serialNumber == 0x7A4D_0001 && !$0.continuesPacket })
        #expect(pages.map(\.beginsStream) == [true] + Array(repeating: false, count: pages.count - 1))
        #expect(pages.map(\.endsStream) == Array(repeating: false, count: pages.count - 1) + [true])
        let head = pages[0].body
        #expect(head.count == 19 && Array(head[0..<8]) == Array("OpusHead".utf8))
        #expect(head[8] == 1 && head[9] == 1 && OggPageReader.little(head, at: 10, count: 2) == 312)
        #expect(OggPageReader.little(head, at: 12, count: 4) == 48_000 && head[18] == 0)
        #expect(pages[1].body.starts(with: Array("OpusTags".utf8)) && pages[1].granulePosition == 0)
        #expect(try OggPageReader.opusPackets(Data(file.readableBytesView)) == packets)
        #expect(pages.last?.granulePosition == Int64(packets.count * 960))
        let granules = pages.dropFirst(2).map(\.granulePosition)
        #expect(granules == granules.sorted())
        #expect(pages.dropFirst(2).allSatisfy { $0.segments.filter { $0 < 255 }.count <= OggOpusWriter.maximumPacketsPerPage })
    }

    @Test("written packet by packet, the last page rewritten each time: whole after every packet, and the same file at the end")
    func incremental() throws {
        // Stereo at 24 kHz input (decoderConfig); packets of 20 ms (CELT FB) and 60 ms (SILK WB),
        // every fifth one 6000 bytes (24 lacing values): pages fill up by segments before they
        // hold 50 packets.
        let config = DecoderConfig(codec: "opus", sampleRate: 24_000, numberOfChannels: 2)
        var writer = OggOpusWriter(decoderConfig: config, serialNumber: 42)
        let packets: [ByteBuffer] = (0..<140).map { (index: Int) -> ByteBuffer in
            let toc: UInt8 = index % 7 == 0 ? 0x5C : 0xFC
            let body = [UInt8](repeating: UInt8(index % 251), count: index % 5 == 0 ? 5999 : 90)
            return ByteBuffer(bytes: [toc] + body)
        }
        var file = [UInt8](writer.headerPages().readableBytesView)
        var committed = file.count
        for packet in packets {
            let appended = writer.append(packet)
            let completed = try #require(appended)
            let last = writer.lastPage()
            let page = [UInt8](completed.readableBytesView) + [UInt8](last.readableBytesView)
            #expect(committed + page.count >= file.count, "the file never shrinks")
            file.replaceSubrange(committed..<file.count, with: page)
            committed += completed.readableBytes
            let pages = try OggPageReader.pages(Data(file))
            #expect(pages.last?.endsStream == true)
            #expect(pages.last?.granulePosition == Int64(writer.granulePosition))
        }
        let whole = OggOpusWriter.file(packets, channels: 2, inputSampleRate: 24_000, serialNumber: 42)
        #expect(file == [UInt8](whole.readableBytesView))
        let pages = try OggPageReader.pages(Data(file))
        #expect(pages[0].body[9] == 2 && OggPageReader.little(pages[0].body, at: 12, count: 4) == 24_000)
        #expect(writer.packetCount == 140)
        #expect(writer.granulePosition == UInt64(20 * 2880 + 120 * 960))
        #expect(abs(writer.duration - (Double(20 * 2880 + 120 * 960) - 312) / 48_000) < 1e-6)
        #expect(try OggPageReader.opusPackets(Data(file)) == packets)
        #expect(pages.dropFirst(2).dropLast().contains { $0.segments.filter { $0 < 255 }.count < OggOpusWriter.maximumPacketsPerPage })
        // What is not an Opus packet is left out; a packet too long for one page too.
        let empty = writer.append(ByteBuffer())
        let noCount = writer.append(ByteBuffer(bytes: [0x7B]))
        let tooLong = writer.append(ByteBuffer(repeating: 0xFC, count: OggOpusWriter.maximumPacketBytes + 1))
        #expect(empty == nil && noCount == nil && tooLong == nil)
        #expect(writer.packetCount == 140)
    }
}
