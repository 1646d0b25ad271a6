import Foundation
import TandemProtocol
import Testing

/// AuditEventKind mirrors the event kinds protocol/README.md documents (§11 and the
/// sections that add kinds: queue, transfer, supervisors, recording, rollback).
@Suite("Audit event kinds and the spec")
struct AuditEventKindTests {
    func readme() throws -> String {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("protocol/README.md")
        return try String(contentsOf: url, encoding: .utf8)
    }

    @Test("every AuditEventKind constant is documented in the spec")
    func constantsAreDocumented() throws {
        let text = try readme()
        let missing = AuditEventKind.documented.filter { !text.contains("`\($0.rawValue)`") }
        #expect(missing.isEmpty, "not in protocol/README.md: \(missing)")
    }

    @Test("every kind in the first column of §11's event table is a constant")
    func tableKindsAreConstants() throws {
        let text = try readme()
        let start = try #require(text.range(of: "## 11. Audit log"))
        let end = try #require(text.range(of: "### 11.1", range: start.upperBound..<text.endIndex))
        let kinds = text[start.lowerBound..<end.lowerBound].split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("| `"), let close = line.dropFirst(3).firstIndex(of: "`") else { return nil }
            return String(line[line.index(line.startIndex, offsetBy: 3)..<close])
        }
        #expect(!kinds.isEmpty)
        let known = Set(AuditEventKind.documented.map(\.rawValue))
        #expect(Set(kinds).subtracting(known).isEmpty, "in §11 but not in AuditEventKind: \(Set(kinds).subtracting(known).sorted())")
    }

    @Test("stored, hashed and exported as the plain string")
    func plainString() throws {
        let event = AuditEvent(
            seq: 1,
            at: Date(timeIntervalSince1970: 0),
            sessionID: nil,
            kind: .joinFailed,
            actor: nil,
            detail: [:],
            previousHash: "",
            hash: ""
        )
        let json = String(decoding: try JSONEncoder().encode(event), as: UTF8.self)
        #expect(json.contains(#""kind":"join.failed""#))
        #expect(AuditEventKind(rawValue: "from.a-newer-broker").rawValue == "from.a-newer-broker")
    }
}
