import Foundation
import TandemCore
import Testing

@Suite("Secrets that never show")
struct RedactedTests {
    struct Holder {
        var name = "webhooks"
        var secret: Redacted<String>? = Redacted("hunter2-very-secret")
    }

    @Test("a Redacted value shows <redacted> when interpolated, reflected or dumped, inside a struct too")
    func redacted() {
        let holder = Holder()
        #expect(holder.secret?.value == "hunter2-very-secret")
        #expect("\(Redacted("hunter2-very-secret"))" == "<redacted>")
        #expect(!"\(holder)".contains("hunter2"))
        #expect(!String(reflecting: holder).contains("hunter2"))
        var dumped = ""
        dump(holder, to: &dumped)
        #expect(!dumped.contains("hunter2"))
        #expect(Mirror(reflecting: Redacted("hunter2")).children.isEmpty)
    }

    @Test("an audit signer shows its public fingerprint, never its private bytes")
    func signer() throws {
        let signer = AuditSigner()
        let secret = signer.rawRepresentation.base64EncodedString()
        #expect("\(signer)" == "AuditSigner(\(signer.publicKey.fingerprint))")
        var dumped = ""
        dump(signer, to: &dumped)
        #expect(!dumped.contains(secret))
        #expect(!String(reflecting: signer).contains(secret))
        // Reflection reaches the public fingerprint only, in whatever encoding it is printed.
        #expect(Mirror(reflecting: signer).children.map(\.label) == ["publicKey"])
    }
}
