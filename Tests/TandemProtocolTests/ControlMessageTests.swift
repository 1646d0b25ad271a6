import NIOCore
import TandemProtocol
import Testing

@Suite("Control messages against protocol/vectors/control.json")
struct ControlMessageTests {
    @Test("valid vectors decode and re-encode to the same canonical JSON", arguments: try Vectors.control().valid)
    func validVector(_ vector: Vectors.ControlVector) throws {
        var buffer = ByteBuffer(string: vector.json)
        let message = try ControlMessage.decode(from: &buffer)
        #expect(message.jsonText == vector.json)
        var encoded = ByteBuffer()
        message.encode(into: &encoded)
        #expect(String(buffer: encoded) == vector.json)
    }

    @Test("invalid vectors are refused with the documented error", arguments: try Vectors.control().invalid)
    func invalidVector(_ vector: Vectors.ControlVector) throws {
        do {
            let message = try ControlMessage.decode(text: vector.json)
            Issue.record("accepted \(message.type)")
        } catch {
            #expect(error.identifier.rawValue == vector.error)
        }
    }

    @Test("hello and session.created never show the token or the code in their description")
    func redaction() throws {
        let hello = Hello.agent(token: "tdm_secretsecret", start: .init(ticket: "HD-1", mode: .camera))
        #expect(!String(describing: hello).contains("secret"))
        let customer = Hello.customer(code: "482913557301")
        #expect(!String(describing: customer).contains("482913557301"))
        let vectors = try Vectors.control().valid
        let created = try #require(
            vectors.compactMap { vector -> SessionCreated? in
                if case .sessionCreated(let created) = try? ControlMessage.decode(text: vector.json) { return created }
                return nil
            }.first
        )
        #expect(!String(describing: created).contains(created.joinCode))
    }

    @Test("join codes are normalised from grouped, spaced and bare forms")
    func joinCodes() {
        #expect(JoinCodeFormat.normalize("482-913-557-301") == "482913557301")
        #expect(JoinCodeFormat.normalize("482 913 557 301") == "482913557301")
        #expect(JoinCodeFormat.normalize("482913557301") == "482913557301")
        #expect(JoinCodeFormat.normalize("48291355730") == nil)
        #expect(JoinCodeFormat.normalize("4829135573011") == nil)
        #expect(JoinCodeFormat.normalize("48291355730a") == nil)
        #expect(JoinCodeFormat.normalize("٤٨٢٩١٣٥٥٧") == nil)
        #expect(JoinCodeFormat.grouped("482913557301") == "482-913-557-301")
    }
}
