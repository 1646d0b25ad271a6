import Foundation
import NIOCore
import TandemProtocol
import Testing

@Suite("Recording entries against protocol/vectors/recording.json")
struct RecordingEntryTests {
    struct Entry: Decodable {
        var kind: String
        var owner: String
        var timeMicros: UInt64
        var messageHex: String?
        var json: String?
    }

    struct Vector: Decodable, CustomStringConvertible {
        var name: String
        var hex: String
        var entries: [Entry]?
        var error: String?
        var description: String { name }
    }

    struct File: Decodable {
        var valid: [Vector]
        var invalid: [Vector]
        var truncated: [Vector]
    }

    static func vectors() throws -> File {
        try JSONDecoder().decode(File.self, from: Data(contentsOf: Vectors.directory.appendingPathComponent("recording.json")))
    }

    static func expected(_ entry: Entry) -> RecordingEntry {
        let owner = ParticipantRole(rawValue: entry.owner)!
        if let hex = entry.messageHex { return .media(owner: owner, timeMicros: entry.timeMicros, message: ByteBuffer(bytes: Vectors.bytes(hex))) }
        return .control(owner: owner, timeMicros: entry.timeMicros, json: entry.json ?? "")
    }

    @Test("valid recordings decode to their entries, whole and fed byte by byte, and re-encode to the same bytes", arguments: try vectors().valid)
    func valid(vector: Vector) throws {
        let bytes = Vectors.bytes(vector.hex)
        let expected = (vector.entries ?? []).map(Self.expected)
        var whole = ByteBuffer(bytes: bytes)
        #expect(RecordingEntry.readMagic(from: &whole))
        var decoded: [RecordingEntry] = []
        while let entry = try RecordingEntry.decode(from: &whole) { decoded.append(entry) }
        #expect(decoded == expected)
        #expect(whole.readableBytes == 0)

        // Byte by byte: nothing is decoded from a strict prefix of an entry.
        var stream = ByteBuffer()
        var fed: [RecordingEntry] = []
        for byte in bytes.dropFirst(RecordingEntry.magic.count) {
            stream.writeInteger(byte)
            while let entry = try RecordingEntry.decode(from: &stream) { fed.append(entry) }
        }
        #expect(fed == expected)

        var encoded = ByteBuffer(bytes: RecordingEntry.magic)
        for entry in expected { entry.encode(into: &encoded) }
        #expect(Array(encoded.readableBytesView) == bytes)
    }

    @Test("invalid entries are refused with the documented error", arguments: try vectors().invalid)
    func invalid(vector: Vector) {
        var buffer = ByteBuffer(bytes: Vectors.bytes(vector.hex))
        #expect(RecordingEntry.readMagic(from: &buffer))
        #expect(throws: ProtocolError.malformedRecording) { try RecordingEntry.decode(from: &buffer) }
        #expect(buffer.readerIndex == RecordingEntry.magic.count, "a damaged entry consumes nothing")
        #expect(vector.error == ProtocolError.malformedRecording.identifier.rawValue)
    }

    @Test("a cut entry is not decoded", arguments: try vectors().truncated)
    func truncated(vector: Vector) throws {
        var buffer = ByteBuffer(bytes: Vectors.bytes(vector.hex))
        #expect(RecordingEntry.readMagic(from: &buffer))
        #expect(try RecordingEntry.decode(from: &buffer) == nil)
        #expect(!RecordingEntry.readMagic(from: &buffer))
    }
}
