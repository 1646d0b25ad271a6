import Foundation
import TandemCore
import TandemProtocol
import Testing

@Suite("Help links: HMAC-SHA256 over ticket, tier, line and expiry (protocol/README.md §16.1)")
struct HelpLinkTests {
    /// The key of a broker whose audit signing key is 32 bytes of 7s.
    static func signer() throws -> HelpLinkSigner {
        HelpLinkSigner(deriving: try AuditSigner(rawRepresentation: Data(repeating: 7, count: 32)))
    }

    static let link = HelpLink(ticket: "HD-1042", tier: .premium, line: "line2", expires: 1_795_430_000)
    static let before = Date(timeIntervalSince1970: 1_795_429_999)

    @Test("the signed text is five lines; the signature matches an independent HKDF + HMAC computation")
    func knownAnswer() throws {
        #expect(Self.link.signedText == "tandem-help-link/1\nHD-1042\npremium\nline2\n1795430000")
        // python3: HKDF-SHA256(ikm=07*32, salt="", info="tandem-help-link/1", 32), then HMAC-SHA256, base64url.
        #expect(try Self.signer().signature(for: Self.link) == "7DKsIePXfh_URH0mJLbC-bBG1p-soxdMdqh8A9iCTjM")
    }

    @Test("a signature is valid for exactly the values it covers, until the expiry")
    func verify() throws {
        let signer = try Self.signer()
        let signature = signer.signature(for: Self.link)
        #expect(signature.count == HelpLinkSigner.signatureLength)
        #expect(signer.verify(Self.link, signature: signature, now: Self.before) == .valid)
        var tier = Self.link
        tier.tier = .basic
        #expect(signer.verify(tier, signature: signature, now: Self.before) == .invalid)
        var ticket = Self.link
        ticket.ticket = "HD-1043"
        #expect(signer.verify(ticket, signature: signature, now: Self.before) == .invalid)
        var line = Self.link
        line.line = "line1"
        #expect(signer.verify(line, signature: signature, now: Self.before) == .invalid)
        var later = Self.link
        later.expires += 3600
        #expect(signer.verify(later, signature: signature, now: Self.before) == .invalid)
        #expect(signer.verify(Self.link, signature: signature, now: Date(timeIntervalSince1970: 1_795_430_000)) == .expired)
    }

    @Test("malformed signatures and other brokers' keys are refused")
    func refused() throws {
        let signer = try Self.signer()
        let signature = signer.signature(for: Self.link)
        #expect(signer.verify(Self.link, signature: "", now: Self.before) == .invalid)
        #expect(signer.verify(Self.link, signature: String(signature.dropLast()), now: Self.before) == .invalid)
        #expect(signer.verify(Self.link, signature: String(signature.dropLast()) + "!", now: Self.before) == .invalid)
        #expect(signer.verify(Self.link, signature: String(repeating: "A", count: 43), now: Self.before) == .invalid)
        let other = HelpLinkSigner(deriving: AuditSigner())
        #expect(other.verify(Self.link, signature: signature, now: Self.before) == .invalid)
        let sameKey = try Self.signer()
        #expect(sameKey.verify(Self.link, signature: signature, now: Self.before) == .valid)
    }

    @Test("the link's query percent-encodes every value")
    func query() {
        let link = HelpLink(ticket: "HD#1&x=y%", tier: .standard, expires: 5)
        #expect(link.query(signature: "abc_-") == "ticket=HD%231%26x%3Dy%25&tier=standard&line=line1&expires=5&sig=abc_-")
    }
}
