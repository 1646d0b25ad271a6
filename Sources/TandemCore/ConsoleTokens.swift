#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Short-lived sign-in tokens for the browser agent console (`tdc_` + 43 base64url
/// characters). `tandem session start --console` asks for one with the agent's API token;
/// the console page uses it in its `hello` until it expires. Only hashes are kept. Pure logic.
public struct ConsoleTokens: Sendable {
    public static let prefix = "tdc_"
    /// At most this many live tokens; the oldest go first.
    public static let capacity = 10_000

    private struct Entry: Sendable {
        var user: String
        var expiresAt: Date
    }

    private var entries: [String: Entry] = [:]

    public init() {}

    /// A new token for `user`, valid until `now + lifetime`.
    public mutating func issue(for user: String, now: Date, lifetime: TimeInterval) -> (token: String, expiresAt: Date) {
        prune(now: now)
        if entries.count >= Self.capacity, let oldest = entries.min(by: { $0.value.expiresAt < $1.value.expiresAt })?.key {
            entries[oldest] = nil
        }
        let token = Self.prefix + APIToken.generate().dropFirst(APIToken.prefix.count)
        let expiresAt = now.addingTimeInterval(lifetime)
        entries[APIToken.hash(token)] = Entry(user: user, expiresAt: expiresAt)
        return (token, expiresAt)
    }

    /// The user a live token belongs to, or nil.
    public func user(for token: String, now: Date) -> String? {
        guard Self.isWellFormed(token), let entry = entries[APIToken.hash(token)], entry.expiresAt > now else { return nil }
        return entry.user
    }

    public mutating func prune(now: Date) {
        entries = entries.filter { $0.value.expiresAt > now }
    }

    public static func isWellFormed(_ token: String) -> Bool {
        token.hasPrefix(prefix) && APIToken.isWellFormed(APIToken.prefix + token.dropFirst(prefix.count))
    }
}
