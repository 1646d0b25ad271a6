import Crypto
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A help link (protocol/README.md §16.1): what a helpdesk, agent or admin lets a customer
/// without a code ask for — the ticket, the support tier, the line — until it expires. The
/// broker signs it; a customer cannot choose its tier without one (unsigned entries are
/// `basic`).
public struct HelpLink: Sendable, Equatable {
    public var ticket: String
    public var tier: SupportTier
    public var line: String
    /// Unix seconds; from then on the link is refused.
    public var expires: Int
    /// What the agent must know (§20.2); signed as a sixth line only when there are any.
    public var skills: [String]

    public static let maxSkills = 8

    public init(ticket: String, tier: SupportTier, line: String = SupportLine.first, expires: Int, skills: [String] = []) {
        self.skills = skills
        self.ticket = ticket
        self.tier = tier
        self.line = line
        self.expires = expires
    }

    /// The text the signature covers: these five lines joined by `\n`, and the skills joined
    /// by `,` as a sixth when there are any (links without skills sign as before).
    public var signedText: String {
        let lines = ["tandem-help-link/1", ticket, tier.rawValue, line, String(expires)] + (skills.isEmpty ? [] : [skills.joined(separator: ",")])
        return lines.joined(separator: "\n")
    }

    /// The query of the link's URL (`/help?` + this): `ticket`, `tier`, `line`, `expires`, `sig`.
    public func query(signature: String) -> String {
        ([("ticket", ticket), ("tier", tier.rawValue), ("line", line), ("expires", String(expires))]
            + (skills.isEmpty ? [] : [("skills", skills.joined(separator: ","))]) + [("sig", signature)])
            .map { "\($0)=\(Self.percentEncoded($1))" }
            .joined(separator: "&")
    }

    /// Percent-encodes every byte but the unreserved characters of RFC 3986.
    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (byte < 16 ? "0" : "") + hex
            }
        }
        return out
    }
}
