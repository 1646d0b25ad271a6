#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A user of the CLI and API. Only the SHA-256 of the token is ever stored.
public struct UserRecord: Sendable, Equatable, Codable {
    public var id: Int64?
    public var name: String
    public var role: UserRole
    public var tokenHash: String
    public var createdAt: Date
    public var revokedAt: Date?

    public init(id: Int64? = nil, name: String, role: UserRole, tokenHash: String, createdAt: Date, revokedAt: Date? = nil) {
        self.id = id
        self.name = name
        self.role = role
        self.tokenHash = tokenHash
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    public var isActive: Bool { revokedAt == nil }

    /// A user name: 1–64 characters of letters, digits, `.`, `_`, `-` and `@`.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64
            && name.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "@")
            }
    }
}
