import Crypto
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Signs and checks help links with HMAC-SHA256. The key is derived from the broker's audit
/// signing key (HKDF-SHA256 of its 32 raw bytes, info `tandem-help-link/1`, 32 bytes), so
/// brokers sharing one signing key (§14) accept each other's links and no further secret
/// has to be kept; a new signing key invalidates every link issued before.
public struct HelpLinkSigner: Sendable {
    /// The 32 bytes of the HMAC key (never logged).
    private let key: Data

    public enum Verdict: Sendable, Equatable {
        case valid
        /// The signature is missing, malformed, or does not cover these values.
        case invalid
        /// Correctly signed, but its expiry has passed.
        case expired
    }

    /// Length of a signature: base64url of 32 bytes, without padding.
    public static let signatureLength = 43

    public init(key: Data) {
        self.key = key
    }

    /// The help-link key of a broker whose audit signing key is `auditSigner`.
    public init(deriving auditSigner: AuditSigner) {
        self.init(key: auditSigner.derivedKey(info: "tandem-help-link/1"))
    }

    /// The signature of `link` (base64url, 43 characters).
    public func signature(for link: HelpLink) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(link.signedText.utf8), using: SymmetricKey(data: key))
        return Data(mac).base64URLEncodedString
    }

    /// Whether `signature` is this broker's for exactly these values, and the link has not
    /// expired at `now`. The comparison takes constant time.
    public func verify(_ link: HelpLink, signature: String, now: Date) -> Verdict {
        guard signature.utf8.count == Self.signatureLength, let mac = Data(base64URLEncoded: signature),
            HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Data(link.signedText.utf8), using: SymmetricKey(data: key))
        else { return .invalid }
        return now.timeIntervalSince1970 < Double(link.expires) ? .valid : .expired
    }

}

extension HelpLinkSigner: CustomStringConvertible, CustomReflectable {
    /// The key never shows, not even through reflection.
    public var description: String { "HelpLinkSigner(<redacted>)" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
