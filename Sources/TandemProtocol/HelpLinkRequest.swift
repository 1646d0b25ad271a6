#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Body of `POST /v1/help-links` (protocol/README.md §16.1): a signed link that lets a
/// customer without a code wait in the queue with this ticket, tier and line.
public struct HelpLinkRequest: Sendable, Equatable, Codable {
    public var ticket: String
    public var tier: SupportTier
    /// `line1` when absent.
    public var line: String?
    /// The link's lifetime; the broker's default (24 hours) when absent, at most its maximum (7 days).
    public var expiresInSeconds: Int?
    /// What the agent must know (§20.2), at most 8.
    public var skills: [String]?

    public init(ticket: String, tier: SupportTier, line: String? = nil, expiresInSeconds: Int? = nil, skills: [String]? = nil) {
        self.skills = skills
        self.ticket = ticket
        self.tier = tier
        self.line = line
        self.expiresInSeconds = expiresInSeconds
    }
}

/// Reply of `POST /v1/help-links`.
public struct HelpLinkGrant: Sendable, Equatable, Codable {
    /// `https://HOST/help?ticket=…&tier=…&line=…&expires=…&sig=…`
    public var url: String
    public var ticket: String
    public var tier: SupportTier
    public var line: String
    public var expiresAt: Date
    public var skills: [String]?

    public init(url: String, ticket: String, tier: SupportTier, line: String, expiresAt: Date, skills: [String]? = nil) {
        self.skills = skills
        self.url = url
        self.ticket = ticket
        self.tier = tier
        self.line = line
        self.expiresAt = expiresAt
    }
}
