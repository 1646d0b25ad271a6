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

    public init(ticket: String, tier: SupportTier, line: String = SupportLine.first, expires: Int) {
        self.ticket = ticket
        self.tier = tier
        self.line = line
        self.expires = expires
    }

    /// The text the signature covers: these five lines joined by `\n`.
    public var signedText: String {
        ["tandem-help-link/1", ticket, tier.rawValue, line, String(expires)].joined(separator: "\n")
    }

    /// The query of the link's URL (`/help?` + this): `ticket`, `tier`, `line`, `expires`, `sig`.
    public func query(signature: String) -> String {
        [("ticket", ticket), ("tier", tier.rawValue), ("line", line), ("expires", String(expires)), ("sig", signature)]
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
