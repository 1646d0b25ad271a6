/// CSV as the audit export writes it (protocol/README.md § Export, 11.5): RFC 4180 with a
/// header row, CRLF line ends, and cells that a spreadsheet cannot run as formulas.
///
/// Customers choose some cells (`ticket` from `hello.queue`, `customer_client` from any
/// `hello`), so a cell starting with `=`, `+`, `-`, `@`, TAB or CR (which Excel, LibreOffice
/// and Google Sheets read as a formula or a DDE call) gets a single quote `'` in front and is
/// always quoted (the OWASP CSV-injection rule). The spreadsheet then shows it as text, with
/// the quote; the JSON-lines export keeps every value unchanged.
public enum CSVTable {
    /// The first characters that make a spreadsheet evaluate a cell.
    public static let formulaTriggers: Set<Unicode.Scalar> = ["=", "+", "-", "@", "\t", "\r"]

    /// Whether `value` would be read as a formula and is neutralised.
    public static func isFormula(_ value: String) -> Bool {
        guard let first = value.unicodeScalars.first else { return false }
        return formulaTriggers.contains(first)
    }

    /// One cell: neutralised if it starts like a formula, then quoted (quotes doubled) when
    /// it was neutralised or holds a comma, quote or line break.
    public static func cell(_ value: String) -> String {
        let formula = isFormula(value)
        let text = formula ? "'" + value : value
        guard formula || text.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else {
            return text
        }
        var quoted = "\""
        for scalar in text.unicodeScalars {
            if scalar == "\"" { quoted.unicodeScalars.append("\"") }
            quoted.unicodeScalars.append(scalar)
        }
        quoted.unicodeScalars.append("\"")
        return quoted
    }

    /// The rows (the first one the header) as a CSV document, every line ended by CRLF.
    public static func encode(_ rows: [[String]]) -> String {
        rows.map { row in row.map(cell).joined(separator: ",") + "\r\n" }.joined()
    }
}
