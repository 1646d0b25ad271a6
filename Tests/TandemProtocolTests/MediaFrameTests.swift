import NIOCore
import TandemProtocol
import Testing

@Suite("Binary media frames against protocol/vectors/frames.json")
struct MediaFrameTests {
    @Test("valid vectors decode to their fields and re-encode byte-exactly", arguments: try Vectors.frames().valid)
    func validVector(_ vector: Vectors.FrameVector) throws {
        let bytes = Vectors.bytes(vector.hex)
        let frame = try MediaFrame.decodeMessage(ByteBuffer(bytes: bytes))
        try check(frame, against: vector)
        #expect(Array(frame.encoded().readableBytesView) == bytes)
    }

    @Test("extended headers are skipped and re-encoded in canonical form", arguments: try Vectors.frames().extendedHeader)
    func extendedVector(_ vector: Vectors.FrameVector) throws {
        let frame = try MediaFrame.decodeMessage(ByteBuffer(bytes: Vectors.bytes(vector.hex)))
        try check(frame, against: vector)
        #expect(Array(frame.encoded().readableBytesView) == Vectors.bytes(try #require(vector.canonicalHex)))
    }

    @Test("invalid vectors are refused with the documented error", arguments: try Vectors.frames().invalid)
    func invalidVector(_ vector: Vectors.FrameVector) throws {
        let message = ByteBuffer(bytes: Vectors.bytes(vector.hex))
        #expect(throws: ProtocolError.self) { try MediaFrame.decodeMessage(message) }
        do {
            _ = try MediaFrameHeader.validate(message: message)
            Issue.record("validate accepted \(vector.name)")
        } catch {
            #expect(error.identifier.rawValue == vector.error)
        }
    }

    @Test(
        "decoding fed byte by byte needs the whole frame and consumes nothing before",
        arguments: try Vectors.frames().valid + Vectors.frames().extendedHeader
    )
    func byteByByte(_ vector: Vectors.FrameVector) throws {
        let bytes = Vectors.bytes(vector.hex)
        var buffer = ByteBuffer()
        var decoded: MediaFrame?
        for (index, byte) in bytes.enumerated() {
            buffer.writeInteger(byte)
            let before = buffer.readableBytes
            decoded = try MediaFrame.decode(from: &buffer)
            if index < bytes.count - 1 {
                #expect(decoded == nil)
                #expect(buffer.readableBytes == before)
            }
        }
        let frame = try #require(decoded)
        #expect(buffer.readableBytes == 0)
        try check(frame, against: vector)
    }

    @Test("two frames back to back decode one after the other")
    func consecutive() throws {
        let vectors = try Vectors.frames().valid
        var buffer = ByteBuffer(bytes: Vectors.bytes(vectors[0].hex) + Vectors.bytes(vectors[1].hex))
        let first = try #require(try MediaFrame.decode(from: &buffer))
        let second = try #require(try MediaFrame.decode(from: &buffer))
        #expect(first.header.streamID == vectors[0].streamId)
        #expect(second.header.streamID == vectors[1].streamId)
        #expect(buffer.readableBytes == 0)
    }

    @Test("the decoded payload is a slice of the received buffer, not a copy")
    func payloadIsASlice() throws {
        let payload = [UInt8](repeating: 0xAB, count: 200_000)
        let frame = MediaFrame(streamID: 1, sequence: 1, codec: .jpeg, keyframe: true, timestampMicros: 1, payload: ByteBuffer(bytes: payload))
        let message = frame.encoded()
        let decoded = try MediaFrame.decodeMessage(message)
        let messageBase = message.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        let payloadBase = decoded.payload.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        #expect(payloadBase == messageBase + UInt(MediaFrameHeader.size))
        #expect(decoded.payload.readableBytes == 200_000)
    }

    private func check(_ frame: MediaFrame, against vector: Vectors.FrameVector) throws {
        #expect(frame.header.codec.name == vector.codec)
        #expect(frame.header.isKeyframe == vector.keyframe)
        #expect(frame.header.streamID == vector.streamId)
        #expect(frame.header.sequence == vector.sequence)
        #expect(frame.header.timestampMicros == vector.timestampMicros)
        #expect(Array(frame.payload.readableBytesView) == Vectors.bytes(try #require(vector.payloadHex)))
    }
}
