import Crypto
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Issues and checks post-session survey tokens (protocol/README.md §5.16):
/// `tds_<session id>.<expiry>.<nps>.<mac>` (`nps` 1 when the survey asks it, else 0), the MAC
/// being the first 16 bytes of HMAC-SHA256 over `survey\n<session id>\n<expiry>\n<nps>` in base64url. The key is derived from the audit signing
/// key (HKDF-SHA256, info `tandem-survey/1`), so every broker of a deployment checks every
/// token and nothing is stored; that a session is answered only once is the log's to say.
public struct SurveyTokenSigner: Sendable {
    /// The 32 bytes of the HMAC key (never logged).
    private let key: Data

    public static let prefix = "tds_"
    /// How long a survey is open after its session ended.
    public static let lifetime: TimeInterval = 24 * 3600
    /// A token is at most this long (prefix, session id, expiry, MAC).
    public static let maxLength = 96

    public enum Verdict: Sendable, Equatable {
        /// Issued by this deployment for `sessionID`, and still open; whether it asks NPS.
        case valid(sessionID: String, asksNPS: Bool)
        /// Malformed, or not signed with this deployment's key.
        case invalid
        /// Correctly signed, but its day has passed.
        case expired
    }

    public init(key: Data) {
        self.key = key
    }

    /// The survey key of a broker whose audit signing key is `auditSigner`.
    public init(deriving auditSigner: AuditSigner) {
        self.init(key: auditSigner.derivedKey(info: "tandem-survey/1"))
    }

    /// The token of the survey of `sessionID`, open until `expires`, asking NPS or not.
    public func token(sessionID: String, expires: Date, asksNPS: Bool = false) -> String {
        let seconds = Int(expires.timeIntervalSince1970)
        let nps = asksNPS ? "1" : "0"
        return "\(Self.prefix)\(sessionID).\(seconds).\(nps).\(mac(sessionID: sessionID, expires: seconds, nps: nps).base64URLEncodedString)"
    }

    /// Whether `token` is one of this deployment's, for which session, and whether it is
    /// still open at `now`. The MAC is compared in constant time.
    public func verify(_ token: String, now: Date) -> Verdict {
        guard token.utf8.count <= Self.maxLength, token.hasPrefix(Self.prefix) else { return .invalid }
        let parts = token.dropFirst(Self.prefix.count).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, SessionID.isWellFormed(String(parts[0])), let expires = Int(parts[1]), expires > 0,
            parts[2] == "0" || parts[2] == "1",
            let given = Data(base64URLEncoded: String(parts[3])), given.count == 16,
            // One spelling per token: base64url's unused trailing bits must be zero.
            given.base64URLEncodedString == parts[3]
        else { return .invalid }
        let sessionID = String(parts[0])
        let expected = mac(sessionID: sessionID, expires: expires, nps: String(parts[2]))
        guard Self.constantTimeEqual(given, expected) else { return .invalid }
        return now.timeIntervalSince1970 < Double(expires) ? .valid(sessionID: sessionID, asksNPS: parts[2] == "1") : .expired
    }

    private func mac(sessionID: String, expires: Int, nps: String) -> Data {
        let text = "survey\n\(sessionID)\n\(expires)\n\(nps)"
        let code = HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: SymmetricKey(data: key))
        return Data(Data(code).prefix(16))
    }

    private static func constantTimeEqual(_ a: Data, _ b: Data) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}

extension SurveyTokenSigner: CustomStringConvertible, CustomReflectable {
    public var description: String { "SurveyTokenSigner(<redacted>)" }
    public var customMirror: Mirror { Mirror(self, children: []) }
}
