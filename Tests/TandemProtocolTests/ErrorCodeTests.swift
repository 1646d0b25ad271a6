import Foundation
import TandemProtocol
import Testing

/// ErrorCode mirrors the error-code table of protocol/README.md §8, both ways.
@Suite("Error codes and the spec's table")
struct ErrorCodeTests {
    /// §8 of protocol/README.md, from its heading to the next section.
    func section8() throws -> String {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("protocol/README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        let start = try #require(text.range(of: "## 8. Error codes"))
        let end = try #require(text.range(of: "\n## 9.", range: start.upperBound..<text.endIndex))
        return String(text[start.lowerBound..<end.lowerBound])
    }

    @Test("every code in the first column of §8's tables is an ErrorCode constant")
    func specCodesAreConstants() throws {
        let tableCodes = try section8().split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("| `"), let close = line.dropFirst(3).firstIndex(of: "`") else { return nil }
            return String(line[line.index(line.startIndex, offsetBy: 3)..<close])
        }
        #expect(!tableCodes.isEmpty)
        let known = Set(ErrorCode.documented.map(\.rawValue))
        #expect(Set(tableCodes).subtracting(known).isEmpty, "in §8 but not in ErrorCode: \(Set(tableCodes).subtracting(known).sorted())")
    }

    @Test("every ErrorCode constant is documented in §8")
    func constantsAreDocumented() throws {
        let section = try section8()
        let missing = ErrorCode.documented.filter { !section.contains("`\($0.rawValue)`") }
        #expect(missing.isEmpty, "not in §8: \(missing)")
    }

    @Test("on the wire an error code is the plain string")
    func wire() throws {
        let message = ErrorMessage(code: .queueFull, message: "full")
        let json = String(decoding: try JSONEncoder().encode(message), as: UTF8.self)
        #expect(json.contains(#""code":"queue-full""#))
        let decoded = try JSONDecoder().decode(ErrorMessage.self, from: Data(#"{"code":"from-a-newer-broker","message":"x"}"#.utf8))
        #expect(decoded.code == "from-a-newer-broker")
    }
}
