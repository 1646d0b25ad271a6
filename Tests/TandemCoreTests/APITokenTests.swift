import TandemCore
import Testing

@Suite("API tokens and identifiers")
struct APITokenTests {
    @Test("tokens are 256 random bits, well-formed, and hashed to 64 hex digits")
    func tokens() {
        let token = APIToken.generate()
        #expect(APIToken.isWellFormed(token))
        #expect(token != APIToken.generate())
        #expect(APIToken.hash(token).count == 64)
        #expect(APIToken.hash(token) == APIToken.hash(token))
        #expect(APIToken.hash("tdm_a") != APIToken.hash("tdm_b"))
        // The hash is SHA-256 of the UTF-8 token (known answer for "abc").
        #expect(APIToken.hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("malformed tokens are refused before any lookup")
    func malformed() {
        #expect(!APIToken.isWellFormed(""))
        #expect(!APIToken.isWellFormed("tdm_short"))
        #expect(!APIToken.isWellFormed("xyz_" + String(repeating: "a", count: 43)))
        #expect(!APIToken.isWellFormed("tdm_" + String(repeating: "a", count: 42) + "!"))
    }

    @Test("session ids, ticket ids and user names")
    func identifiers() {
        let id = SessionID.generate()
        #expect(SessionID.isWellFormed(id))
        #expect(!SessionID.isWellFormed("s_../../etc"))
        #expect(TicketID.isValid("HD-1042"))
        #expect(!TicketID.isValid("HD 1042"))
        #expect(!TicketID.isValid(""))
        #expect(!TicketID.isValid(String(repeating: "x", count: 65)))
        #expect(UserRecord.isValidName("alice@example.com"))
        #expect(!UserRecord.isValidName("alice smith"))
    }
}
