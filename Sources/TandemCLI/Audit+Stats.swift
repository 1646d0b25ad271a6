import ArgumentParser
import Foundation
import TandemClient
import TandemProtocol

extension Audit {
    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "First-contact resolution, escalation rate, median wait and handle time, outcomes, queue answer times.",
            discussion: "Definitions: protocol/README.md § Statistics. Agents see their own sessions only."
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var tokenOptions: TokenOptions
        @Option(help: "Sessions created at or after this date (2026-11-01) or time.") var since: String?
        @Option(help: "Sessions created before this date or time.") var until: String?
        @Option(help: "Only this agent.") var agent: String?
        @Option(help: "Only this ticket.") var ticket: String?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let query = AuditQuery(ticket: ticket, agent: agent, since: since, until: until)
            let stats = try await withAPI(connection, tokenOptions, refusal: "statistics refused") { try await $0.stats(query) }
            if json {
                try sayJSON(stats)
                return
            }
            let period = [since.map { "since \($0)" }, until.map { "until \($0)" }].compactMap { $0 }.joined(separator: " ")
            say(
                "Sessions\(period.isEmpty ? "" : " " + period): \(stats.sessions) (\(stats.live) live) on \(stats.tickets) ticket\(stats.tickets == 1 ? "" : "s"); answered \(stats.answered), unanswered \(stats.unanswered)"
            )
            say("first-contact resolution: \(Self.percent(stats.firstContactResolutionRate))")
            say(
                "escalation rate:          \(Self.percent(stats.escalationRate)) (transferred \(stats.transferred) session\(stats.transferred == 1 ? "" : "s"), \(stats.transfers) hand-over\(stats.transfers == 1 ? "" : "s"))"
            )
            say("median wait:              \(Formatting.seconds(stats.medianWaitSeconds))")
            say("median handle time:       \(Formatting.seconds(stats.medianHandleSeconds))")
            if let queue = stats.queue {
                say(
                    "queue:                    \(queue.entered) entered, \(queue.answered) answered, \(queue.abandoned) left unanswered; median wait \(Formatting.seconds(queue.medianWaitSeconds))"
                )
                say(
                    "answered within \(QueueStats.targetSeconds) s:      \(Self.percent(queue.shareAnsweredWithinTarget)) (\(queue.answeredWithinTarget) of \(queue.answered + queue.abandoned))"
                )
                for (tier, counts) in queue.byTier.sorted(by: { $0.key < $1.key }) {
                    say(
                        "  \(tier.padding(toLength: 24, withPad: " ", startingAt: 0))\(Self.percent(counts.shareAnsweredWithinTarget)) within \(QueueStats.targetSeconds) s, \(counts.answered) answered, \(counts.abandoned) left, median wait \(Formatting.seconds(counts.medianWaitSeconds))"
                    )
                }
            }
            say("outcomes:    " + Self.breakdown(stats.outcomes))
            say("end reasons: " + Self.breakdown(stats.endReasons))
            if let survey = stats.survey {
                say("customer surveys:         " + Self.survey(survey.overall))
                for (title, groups) in [("agent", survey.byAgent), ("tier", survey.byTier), ("line", survey.byLine)] where groups.count > 1 {
                    for (name, figures) in groups.sorted(by: { $0.key < $1.key }) {
                        // Agent names and lines are the operator's; still printed escaped.
                        let label = "  \(title) \(TerminalText.escaped(name))"
                        say("\(label.padding(toLength: 26, withPad: " ", startingAt: 0))\(Self.survey(figures))")
                    }
                }
            }
        }

        /// One line of survey figures (§5.16): responses, CSAT, average, NPS, customer- and agent-reported resolution.
        static func survey(_ figures: SurveyStats.Figures) -> String {
            let average = figures.averageScore.map { String(format: "%.2f", $0) } ?? "-"
            let nps = figures.nps.map { String(format: "%+.0f", $0) } ?? "-"
            return "\(figures.responses) of \(figures.sessions) answered (\(percent(figures.responseRate))); CSAT \(percent(figures.csat)), "
                + "average \(average)/5, NPS \(nps) (\(figures.npsResponses)); solved says the customer \(percent(figures.solvedRate)), "
                + "resolved says the agent \(percent(figures.agentResolvedRate))"
        }

        static func percent(_ value: Double?) -> String {
            guard let value else { return "-" }
            return String(format: "%.1f %%", value * 100)
        }

        static func breakdown(_ counts: [String: Int]) -> String {
            counts.isEmpty ? "-" : counts.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export sessions (or the raw event log) as CSV or JSON lines for other tools.",
            discussion: "Columns: protocol/README.md § Export. Writes to standard output unless --output is given."
        )
        enum Format: String, ExpressibleByArgument, CaseIterable { case csv, jsonl }
        enum What: String, ExpressibleByArgument, CaseIterable { case sessions, events }

        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var tokenOptions: TokenOptions
        @Option(help: "csv or jsonl.") var format: Format = .jsonl
        @Option(help: "sessions (one row per session) or events (the hash-chained log; auditors and admins).") var what: What = .sessions
        @Option(help: "From this date (2026-11-01) or time.") var since: String?
        @Option(help: "Before this date or time.") var until: String?
        @Option(help: "Only this agent (sessions).") var agent: String?
        @Option(help: "Only this ticket (sessions).") var ticket: String?
        @Option(help: "Only this outcome (sessions).") var outcome: SessionOutcome?
        @Option(name: .shortAndLong, help: "Write to this file instead of standard output.") var output: String?

        func run() async throws {
            let query = AuditQuery(ticket: ticket, agent: agent, outcome: outcome, since: since, until: until)
            let buffer = try await withAPI(connection, tokenOptions, refusal: "export refused") {
                try await $0.export(what: what.rawValue, format: format.rawValue, query: query)
            }
            let data = Data(buffer.readableBytesView)
            if let output {
                guard FileManager.default.createFile(atPath: output, contents: data) else { throw CLIFailure("cannot write \(output)") }
                printError("Wrote \(data.count) bytes to \(output)")
            } else {
                FileHandle.standardOutput.write(data)
            }
        }
    }
}
