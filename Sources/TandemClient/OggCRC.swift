/// The checksum of an Ogg page (RFC 3533 §6): a CRC-32 with the generator polynomial
/// 0x04C11DB7, not reflected, initial value 0 and no final XOR (unlike zlib's and PNG's
/// CRC-32), over the whole page — header, segment table and data — with the page's
/// checksum field (bytes 22–25) set to zero. It goes into that field little-endian.
public enum OggCRC {
    static let table: [UInt32] = (0..<256).map { index -> UInt32 in
        var value = UInt32(index) << 24
        for _ in 0..<8 { value = (value & 0x8000_0000) != 0 ? (value << 1) ^ 0x04C1_1DB7 : value << 1 }
        return value
    }

    /// The CRC of `bytes`, continuing from `crc` (0 for the start of a page).
    public static func checksum(_ bytes: some Sequence<UInt8>, continuing crc: UInt32 = 0) -> UInt32 {
        var crc = crc
        for byte in bytes { crc = (crc << 8) ^ table[Int((crc >> 24) ^ UInt32(byte))] }
        return crc
    }
}
