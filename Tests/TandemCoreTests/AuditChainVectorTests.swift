import Foundation
import TandemCore
import TandemProtocol
import Testing

/// ``AuditChain`` against protocol/vectors/audit.json, a chain written by the independent
/// Python encoder from §11.2 (escapes, Unicode, CRLF, a combining mark after `=`). The
/// standalone bundle verifier (protocol/verify_bundle.py --self-test) checks the same file.
@Suite("AuditChain hashes the events of protocol/vectors/audit.json as the spec does")
struct AuditChainVectorTests {
    struct Event: Decodable {
        var seq: Int64
        var atMs: Int64
        var sessionId: String?
        var kind: String
        var actor: String?
        var detail: [String: String]
        var previousHash: String
        var hash: String
    }

    struct File: Decodable {
        var events: [Event]
    }

    @Test("every event's hash, and the chain verifies")
    func vectors() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("protocol/vectors/audit.json")
        let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: url))
        #expect(file.events.count >= 6)
        var events: [AuditEvent] = []
        for vector in file.events {
            let event = AuditEvent(
                seq: vector.seq,
                at: Date(epochMilliseconds: vector.atMs),
                sessionID: vector.sessionId,
                kind: AuditEventKind(rawValue: vector.kind),
                actor: vector.actor,
                detail: vector.detail,
                previousHash: vector.previousHash,
                hash: vector.hash
            )
            #expect(AuditChain.hash(of: event) == vector.hash, "event \(vector.seq) (\(vector.kind))")
            events.append(event)
        }
        #expect(AuditChain.verify(events).status == .intact)
    }
}
