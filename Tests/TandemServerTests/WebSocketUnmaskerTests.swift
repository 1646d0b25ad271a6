import NIOCore
import NIOWebSocket
import TandemProtocol
import Testing

@testable import TandemServer

/// The eight-bytes-at-a-time unmask (TandemProtocol's ``WebSocketMasking``, which
/// ``WebSocketUnmasker`` calls) against NIOWebSocket's own (byte-wise) one and the RFC 6455
/// example; Autobahn (scripts/autobahn.sh) runs it on every case over the wire.
@Suite("WebSocket unmasking")
struct WebSocketUnmaskerTests {
    @Test("RFC 6455 §5.7: the masked \"Hello\"")
    func rfcExample() throws {
        var buffer = ByteBuffer(bytes: [0x7f, 0x9f, 0x4d, 0x51, 0x58])
        WebSocketMasking.unmask(&buffer, maskKey: 0x37fa_213d)
        #expect(String(buffer: buffer) == "Hello")
    }

    @Test("the handler's key conversion: the four key bytes in wire order, the first most significant")
    func keyConversion() throws {
        let key = try #require(WebSocketMaskingKey([0x37, 0xfa, 0x21, 0x3d]))
        #expect(key.wireValue == 0x37fa_213d)
    }

    @Test("every length from 0 to 100 and every offset give NIOWebSocket's bytes, also at an odd reader index")
    func matchesNIO() throws {
        var generator = SystemRandomNumberGenerator()
        for length in 0...100 {
            for offset in 0..<4 {
                let key = try #require(WebSocketMaskingKey((0..<4).map { _ in UInt8.random(in: 0...255, using: &generator) }))
                let bytes = (0..<(length + 3)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                var mine = ByteBuffer(bytes: bytes)
                mine.moveReaderIndex(forwardBy: 3)
                var theirs = mine
                WebSocketMasking.unmask(&mine, maskKey: key.wireValue, indexOffset: offset)
                theirs.webSocketUnmask(key, indexOffset: offset)
                #expect(mine == theirs, "length \(length) offset \(offset)")
            }
        }
    }

    @Test("a 200 KB frame payload, unmasked twice, is the original again")
    func roundTrip() throws {
        let key = try #require(WebSocketMaskingKey([1, 2, 3, 4]))
        let original = ByteBuffer(bytes: (0..<200_003).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        var buffer = original
        WebSocketMasking.unmask(&buffer, maskKey: key.wireValue)
        var reference = original
        reference.webSocketUnmask(key)
        #expect(buffer == reference)
        WebSocketMasking.unmask(&buffer, maskKey: key.wireValue)
        #expect(buffer == original)
    }
}
