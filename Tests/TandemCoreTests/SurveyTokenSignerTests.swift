import Foundation
import TandemCore
import Testing

@Suite("Survey tokens (§5.16), step by step")
struct SurveyTokenSignerTests {
    let signer = SurveyTokenSigner(deriving: AuditSigner())
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let session = SessionID.generate()

    @Test("a token names its session, is open until its expiry, and is not the join code's shape")
    func roundTrip() {
        let token = signer.token(sessionID: session, expires: now.addingTimeInterval(SurveyTokenSigner.lifetime))
        #expect(token.hasPrefix("tds_\(session)."))
        #expect(token.utf8.count <= SurveyTokenSigner.maxLength)
        #expect(signer.verify(token, now: now) == .valid(sessionID: session, asksNPS: false))
        #expect(signer.verify(token, now: now.addingTimeInterval(SurveyTokenSigner.lifetime)) == .expired)
    }

    @Test("whether NPS is asked is signed into the token")
    func npsSigned() {
        let token = signer.token(sessionID: session, expires: now.addingTimeInterval(3600), asksNPS: true)
        #expect(token.contains(".1."))
        #expect(signer.verify(token, now: now) == .valid(sessionID: session, asksNPS: true))
        #expect(signer.verify(token.replacingOccurrences(of: ".1.", with: ".0."), now: now) == .invalid)
    }

    @Test("another key, another session, an altered expiry or MAC, and garbage are invalid")
    func forgeries() {
        let expires = now.addingTimeInterval(3600)
        let token = signer.token(sessionID: session, expires: expires)
        #expect(SurveyTokenSigner(deriving: AuditSigner()).verify(token, now: now) == .invalid)
        let other = SessionID.generate()
        #expect(signer.verify(token.replacingOccurrences(of: session, with: other), now: now) == .invalid)
        let seconds = String(Int(expires.timeIntervalSince1970))
        let longer = token.replacingOccurrences(of: seconds, with: String(Int(expires.timeIntervalSince1970) + 86400))
        #expect(signer.verify(longer, now: now) == .invalid)
        var mac = Array(token)
        mac[mac.count - 5] = mac[mac.count - 5] == "A" ? "B" : "A"
        #expect(signer.verify(String(mac), now: now) == .invalid)
        // The last character's unused bits: another spelling of the same MAC is refused too.
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var spelling = Array(token)
        let last = alphabet.firstIndex(of: spelling[spelling.count - 1])!
        spelling[spelling.count - 1] = alphabet[last + 1]
        #expect(signer.verify(String(spelling), now: now) == .invalid)
        for garbage in ["", "tds_", "tds_x.y.z", "tdm_\(session).1.AAAA", String(repeating: "a", count: 5000), token + ".extra"] {
            #expect(signer.verify(garbage, now: now) == .invalid)
        }
    }

    @Test("the key is not printed")
    func redacted() {
        #expect(String(describing: signer) == "SurveyTokenSigner(<redacted>)")
        #expect(String(reflecting: signer).contains("redacted"))
    }
}
