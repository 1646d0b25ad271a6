import Crypto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// API tokens: `tdm_` followed by 43 base64url characters (256 random bits).
///
/// The token is shown once; the store keeps ``hash(_:)`` only.
public enum APIToken {
    public static let prefix = "tdm_"

    /// A new random token.
    public static func generate<G: RandomNumberGenerator>(using generator: inout G) -> String {
        prefix + Data(randomBytes(32, using: &generator)).base64URLEncodedString
    }

    /// `count` random bytes, eight from each draw (`SystemRandomNumberGenerator` makes a
    /// `getrandom` call per draw: one per byte cost 32 system calls per token).
    static func randomBytes<G: RandomNumberGenerator>(_ count: Int, using generator: inout G) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count + 7)
        while bytes.count < count {
            withUnsafeBytes(of: generator.next().littleEndian) { bytes.append(contentsOf: $0) }
        }
        return Array(bytes.prefix(count))
    }

    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return generate(using: &generator)
    }

    /// Lowercase hex SHA-256 of the token's UTF-8 bytes: what the store keeps and looks up.
    public static func hash(_ token: String) -> String {
        sha256Hex(token)
    }

    /// Lowercase hex SHA-256 of the UTF-8 bytes of `text` (tokens, audit events).
    static func sha256Hex(_ text: String) -> String {
        sha256Hex(bytes: Array(text.utf8))
    }

    /// Lowercase hex SHA-256 of `bytes`.
    static func sha256Hex(bytes: some DataProtocol) -> String {
        SHA256.hash(data: bytes).lowercaseHex
    }

    /// Whether `token` has the shape of a Tandem token (checked before any lookup).
    public static func isWellFormed(_ token: String) -> Bool {
        token.hasPrefix(prefix) && token.utf8.count == prefix.utf8.count + 43
            && token.utf8.dropFirst(prefix.utf8.count).allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            }
    }
}
