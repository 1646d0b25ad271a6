extension Sequence where Element == UInt8 {
    /// The bytes as lowercase hex digits, two a byte: how tokens, audit events, recordings
    /// (SHA-256 digests) and Merkle hashes are written in the store, the log and the API.
    public var lowercaseHex: String {
        map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
