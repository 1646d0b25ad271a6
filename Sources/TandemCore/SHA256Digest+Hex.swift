import Crypto

extension SHA256Digest {
    /// The digest as 64 lowercase hex digits: how tokens, audit events and recordings are
    /// hashed in the store and the log.
    public var lowercaseHex: String {
        map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
