import NIOCore

/// The WebSocket masking operation (RFC 6455 §5.3), eight bytes at a time.
///
/// Masking and unmasking are the same XOR, so ``unmask(_:maskKey:indexOffset:)`` also masks.
/// The result is byte for byte NIOWebSocket's `webSocketUnmask(_:indexOffset:)`, which walks
/// the payload a byte at a time with a `% 4` per byte; on 200 KB frames that was a quarter of
/// the broker's CPU (issue 14). The broker's `WebSocketUnmasker` calls this on every client
/// frame; bench/micro measures it.
public enum WebSocketMasking {
    /// XORs the readable bytes of `buffer`, in place, with the repeated masking key.
    ///
    /// - Parameters:
    ///   - buffer: The payload (or the part of it that is readable). Unmasked in place: no
    ///     allocation when `buffer` holds the only reference to its storage.
    ///   - maskKey: The four key bytes as they appear in the frame header, the first one most
    ///     significant (what `readInteger(as: UInt32.self)` returns at the key's offset):
    ///     the RFC 6455 §5.7 key `37 fa 21 3d` is `0x37fa_213d`.
    ///   - indexOffset: The position in the key of the first readable byte: the number of
    ///     payload bytes before it (for example the extension data), modulo 4.
    public static func unmask(_ buffer: inout ByteBuffer, maskKey: UInt32, indexOffset: Int = 0) {
        let offset = ((indexOffset % 4) + 4) % 4
        // The key, rotated by the offset, repeated over eight bytes in memory order.
        var key32: UInt32 = 0
        withUnsafeMutableBytes(of: &key32) { bytes in
            for index in 0..<4 {
                let keyIndex = (offset + index) % 4
                bytes[index] = UInt8(truncatingIfNeeded: maskKey >> UInt32(24 - 8 * keyIndex))
            }
        }
        let pattern8 = UInt64(key32) | UInt64(key32) << 32
        buffer.withUnsafeMutableReadableBytes { bytes in
            let count = bytes.count
            var index = 0
            while index + 8 <= count {
                let word = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                bytes.storeBytes(of: word ^ pattern8, toByteOffset: index, as: UInt64.self)
                index += 8
            }
            withUnsafeBytes(of: pattern8) { mask in
                while index < count {
                    bytes[index] ^= mask[index % 8]
                    index += 1
                }
            }
        }
    }
}
