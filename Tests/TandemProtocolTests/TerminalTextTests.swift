import Foundation
import TandemProtocol
import Testing

@Suite("TerminalText: peer-supplied text printed on a terminal (protocol/README.md § chat)")
struct TerminalTextTests {
    @Test("text without controls comes back unchanged, whatever its script")
    func plainText() {
        #expect(TerminalText.escaped("Sure – here, see the ports? ✓") == "Sure – here, see the ports? ✓")
        #expect(TerminalText.escaped("مرحبا שלום 你好 👍🏽") == "مرحبا שלום 你好 👍🏽")
        #expect(TerminalText.escaped("C:\\Users\\me") == "C:\\Users\\me")
        #expect(TerminalText.escaped("") == "")
    }

    @Test("ESC sequences (window title, clear screen) become visible \\u{1B} escapes")
    func escapeSequences() {
        #expect(TerminalText.escaped("a\u{1B}]0;pwned\u{07}b") == "a\\u{1B}]0;pwned\\u{7}b")
        #expect(TerminalText.escaped("\u{1B}[2J") == "\\u{1B}[2J")
        #expect(TerminalText.escaped("\u{1B}[31mred") == "\\u{1B}[31mred")
    }

    @Test("line breaks cannot start a forged line: \\n, \\r and CR LF (one Character) are escaped")
    func lineBreaks() {
        #expect(TerminalText.escaped("hi\n[12:00:00] customer left") == "hi\\n[12:00:00] customer left")
        #expect(TerminalText.escaped("hi\r[12:00:00] x") == "hi\\r[12:00:00] x")
        #expect(TerminalText.escaped("hi\r\nthere") == "hi\\r\\nthere")
        #expect(TerminalText.escaped("a\tb") == "a\\tb")
    }

    @Test("every C0 control, DEL and the C1 controls are escaped as \\u{HEX}")
    func controls() {
        #expect(TerminalText.escaped("\u{00}") == "\\u{0}")
        #expect(TerminalText.escaped("\u{08}") == "\\u{8}")
        #expect(TerminalText.escaped("\u{1F}") == "\\u{1F}")
        #expect(TerminalText.escaped("\u{7F}") == "\\u{7F}")
        #expect(TerminalText.escaped("\u{80}") == "\\u{80}")
        #expect(TerminalText.escaped("\u{85}") == "\\u{85}")
        #expect(TerminalText.escaped("\u{9B}2J") == "\\u{9B}2J")
        #expect(TerminalText.escaped("\u{9F}") == "\\u{9F}")
    }

    @Test("line/paragraph separators and bidi overrides and isolates are escaped")
    func separatorsAndBidi() {
        #expect(TerminalText.escaped("a\u{2028}b\u{2029}c") == "a\\u{2028}b\\u{2029}c")
        #expect(TerminalText.escaped("\u{202A}\u{202B}\u{202C}\u{202D}\u{202E}") == "\\u{202A}\\u{202B}\\u{202C}\\u{202D}\\u{202E}")
        #expect(TerminalText.escaped("\u{2066}\u{2067}\u{2068}\u{2069}") == "\\u{2066}\\u{2067}\\u{2068}\\u{2069}")
    }

    @Test("the neighbours of the escaped ranges are printed as they are")
    func boundaries() {
        #expect(TerminalText.escaped(" ~") == " ~")
        #expect(TerminalText.escaped("\u{A0}") == "\u{A0}")
        #expect(TerminalText.escaped("\u{2027}") == "\u{2027}")
        #expect(TerminalText.escaped("\u{202F}") == "\u{202F}")
        #expect(TerminalText.escaped("\u{2065}") == "\u{2065}")
        #expect(TerminalText.escaped("\u{206A}") == "\u{206A}")
    }

    @Test("the result never holds a scalar that needs escaping, and escaping twice changes nothing")
    func noControlLeft() {
        let all = String(String.UnicodeScalarView((UInt32(0)...0x2100).compactMap { Unicode.Scalar($0) }))
        let once = TerminalText.escaped(all)
        #expect(!once.unicodeScalars.contains(where: TerminalText.needsEscape))
        #expect(TerminalText.escaped(once) == once)
    }

    @Test("JSON output keeps its line breaks and meaning; C1 and bidi controls inside strings become \\uXXXX")
    func json() throws {
        let json = "{\n  \"client\" : \"x\u{9B}2J\u{202E}y\u{7F}\"\n}"
        let escaped = TerminalText.escapedJSON(json)
        #expect(escaped == "{\n  \"client\" : \"x\\u009B2J\\u202Ey\\u007F\"\n}")
        let decoded = try JSONDecoder().decode([String: String].self, from: Data(escaped.utf8))
        #expect(decoded == ["client": "x\u{9B}2J\u{202E}y\u{7F}"])
        #expect(TerminalText.escapedJSON("{\"a\":\"ü\"}") == "{\"a\":\"ü\"}")
    }
}
