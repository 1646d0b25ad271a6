/// Peer-supplied text made safe to print on a terminal: chat lines, client names, notes,
/// shape ids, audit event details. A customer chooses these strings; printed raw, an ESC
/// sequence clears the agent's screen or sets its window title, and a line break forges a
/// line of the timeline. See protocol/README.md § chat (5.5).
///
/// The escaped form is Swift's string-literal syntax: `\n`, `\r` and `\t` for line feed,
/// carriage return and tab, `\u{HEX}` (upper-case hex, no padding) for every other
/// escaped scalar, e.g. `\u{1B}` for ESC, `\u{9B}` for CSI, `\u{202E}` for RIGHT-TO-LEFT
/// OVERRIDE. A backslash is left as it is, so the form is for reading, not reversible.
public enum TerminalText {
    /// Whether `scalar` is escaped: the C0 controls U+0000–U+001F (ESC, BEL, line breaks,
    /// tab …), DEL U+007F, the C1 controls U+0080–U+009F (CSI, OSC, NEL …), the line and
    /// paragraph separators U+2028/U+2029, and the bidirectional embeddings, overrides and
    /// isolates U+202A–U+202E and U+2066–U+2069 (they reorder what follows on the line).
    public static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    /// `text` with every scalar of ``needsEscape(_:)`` replaced by its visible escape; the
    /// result is one line and holds no control. Text without such scalars comes back as it is.
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar) else {
                result.append(scalar)
                continue
            }
            let escape: String
            switch scalar.value {
            case 0x0A: escape = "\\n"
            case 0x0D: escape = "\\r"
            case 0x09: escape = "\\t"
            default: escape = "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            }
            result.append(contentsOf: escape.unicodeScalars)
        }
        return String(result)
    }

    /// JSON text (as JSONEncoder writes it) safe for a terminal and still the same JSON:
    /// DEL, the C1 controls, U+2028/U+2029 and the bidi controls, which the encoder leaves
    /// raw inside strings, become `\uXXXX` escapes. Line feeds (pretty printing) stay; the
    /// encoder already escapes the C0 controls inside strings.
    public static func escapedJSON(_ json: String) -> String {
        guard json.unicodeScalars.contains(where: { $0.value >= 0x7F && needsEscape($0) }) else { return json }
        var result = String.UnicodeScalarView()
        for scalar in json.unicodeScalars {
            guard scalar.value >= 0x7F, needsEscape(scalar) else {
                result.append(scalar)
                continue
            }
            let hex = String(scalar.value, radix: 16, uppercase: true)
            result.append(contentsOf: ("\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex).unicodeScalars)
        }
        return String(result)
    }
}
