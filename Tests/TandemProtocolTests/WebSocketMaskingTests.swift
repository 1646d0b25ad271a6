import NIOCore
import TandemProtocol
import Testing

/// ``WebSocketMasking`` against a byte-at-a-time reference (RFC 6455 §5.3: byte i of the
/// payload is XORed with key byte (i + offset) mod 4). TandemServerTests compares it with
/// NIOWebSocket's own unmask.
@Suite("WebSocket masking")
struct WebSocketMaskingTests {
    @Test("RFC 6455 §5.7: the masked \"Hello\", key 37 fa 21 3d")
    func rfcExample() {
        var buffer = ByteBuffer(bytes: [0x7f, 0x9f, 0x4d, 0x51, 0x58])
        WebSocketMasking.unmask(&buffer, maskKey: 0x37fa_213d)
        #expect(String(buffer: buffer) == "Hello")
    }

    @Test("lengths 0 to 40, every offset (negative and past 3 too), at an odd reader index")
    func matchesReference() {
        let key: [UInt8] = [0x9a, 0x01, 0xfe, 0x42]
        let maskKey: UInt32 = 0x9a01_fe42
        for length in 0...40 {
            for offset in -5...7 {
                let bytes = (0..<(length + 3)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ length) }
                var buffer = ByteBuffer(bytes: bytes)
                buffer.moveReaderIndex(forwardBy: 3)
                WebSocketMasking.unmask(&buffer, maskKey: maskKey, indexOffset: offset)
                let expected = bytes.dropFirst(3).enumerated().map { index, byte in
                    byte ^ key[(((index + offset) % 4) + 4) % 4]
                }
                #expect(Array(buffer.readableBytesView) == expected, "length \(length) offset \(offset)")
            }
        }
    }

    @Test("only the readable bytes change")
    func readableOnly() {
        var buffer = ByteBuffer(bytes: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        buffer.moveReaderIndex(forwardBy: 2)
        buffer.moveWriterIndex(to: 10)
        WebSocketMasking.unmask(&buffer, maskKey: 0xffff_ffff)
        buffer.moveReaderIndex(to: 0)
        buffer.moveWriterIndex(to: 12)
        let inverted = ([3, 4, 5, 6, 7, 8, 9, 10] as [UInt8]).map { $0 ^ 0xff }
        let expected: [UInt8] = [1, 2] + inverted + [11, 12]
        #expect(Array(buffer.readableBytesView) == expected)
    }
}
