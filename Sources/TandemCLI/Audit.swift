import ArgumentParser
import Foundation
import TandemClient
import TandemProtocol

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Review the session log (auditors and admins see all sessions, agents their own).",
        subcommands: [Sessions.self, Show.self, Ticket.self, Stats.self, Export.self, Verify.self, Bundle.self, Key.self, Prune.self, Console.self]
    )

    struct Sessions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List logged sessions, newest first.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var tokenOptions: TokenOptions
        @Option(help: "Only this ticket.") var ticket: String?
        @Option(help: "Only this agent.") var agent: String?
        @Option(help: "Only this outcome.") var outcome: SessionOutcome?
        @Option(help: "Only sessions created at or after this date (2026-11-22) or time.") var since: String?
        @Option(help: "Only sessions created before this date or time.") var until: String?
        @Option(help: "At most this many sessions.") var limit: Int = 1000
        @Flag(help: "Print JSON instead of a table.") var json = false

        func run() async throws {
            let sessions = try await withAPI(connection, tokenOptions, refusal: "audit query refused") {
                try await $0.sessions(ticket: ticket, agent: agent, outcome: outcome, since: since, until: until, limit: limit)
            }
            if json {
                try sayJSON(SessionList(sessions: sessions))
                return
            }
            let rows = sessions.map { record in
                [
                    record.id, record.ticket, record.agent, record.mode.rawValue, Formatting.timestamp(record.createdAt),
                    Formatting.seconds(record.waitSeconds), Formatting.seconds(record.durationSeconds),
                    record.outcome?.rawValue ?? "-", record.endReason?.rawValue ?? (record.isEnded ? "-" : "live"),
                    "\(record.traffic.customerToAgent.frames)/\(Formatting.bytes(record.traffic.customerToAgent.bytes))",
                    "\(record.traffic.agentToCustomer.frames)/\(Formatting.bytes(record.traffic.agentToCustomer.bytes))",
                ]
            }
            let header = ["SESSION", "TICKET", "AGENT", "MODE", "CREATED", "WAIT", "DURATION", "OUTCOME", "END", "TO AGENT", "TO CUSTOMER"]
            FileHandle.standardOutput.write(Data(Formatting.table(header: header, rows: rows).utf8))
            say("\(sessions.count) session\(sessions.count == 1 ? "" : "s")")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a session's timeline from the audit log.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var tokenOptions: TokenOptions
        @Argument(help: "Session id (s_...).") var id: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let timeline = try await withAPI(connection, tokenOptions) { try await $0.timeline(sessionID: id) }
            if json {
                try sayJSON(timeline)
                return
            }
            let session = timeline.session
            say("Session \(session.id) · ticket \(session.ticket) · agent \(session.agent) · \(session.mode.rawValue)")
            say(
                "started \(Formatting.timestamp(session.createdAt)) · wait \(Formatting.seconds(session.waitSeconds)) · duration \(Formatting.seconds(session.durationSeconds)) · customer connected \(Formatting.seconds(session.connectedSeconds))"
            )
            say(
                "outcome \(session.outcome?.rawValue ?? "-") · end \(session.endReason?.rawValue ?? "live")\(session.endedBy.map { " by \($0)" } ?? "")\(session.note.map { " · note: \($0)" } ?? "")"
            )
            for event in timeline.events {
                // `sessionSeq` (§11.9) is for verifiers: in --json, not in the lines people read.
                let detail = event.detail.filter { $0.key != AuditEvent.sessionSeqKey }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                    .joined(separator: " ")
                say("\(Formatting.timestamp(event.at))  #\(event.seq)  \(event.kind)  \(event.actor ?? "-")  \(detail)")
            }
        }
    }

    struct Ticket: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Summarise every session of a ticket.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var tokenOptions: TokenOptions
        @Argument(help: "Helpdesk ticket, e.g. HD-1042.") var ticket: String

        func run() async throws {
            let sessions = try await withAPI(connection, tokenOptions) { try await $0.sessions(ticket: ticket) }
            guard !sessions.isEmpty else { throw CLIFailure("no sessions logged for ticket \(ticket)") }
            let ended = sessions.filter(\.isEnded)
            let total = ended.compactMap(\.durationSeconds).reduce(0, +)
            let connected = ended.compactMap(\.connectedSeconds).reduce(0, +)
            var outcomes: [String: Int] = [:]
            for session in ended { outcomes[session.outcome?.rawValue ?? "not recorded", default: 0] += 1 }
            let agents = Set(sessions.map(\.agent)).sorted()
            say(
                "Ticket \(ticket): \(sessions.count) session\(sessions.count == 1 ? "" : "s") (\(sessions.count - ended.count) live), agents \(agents.joined(separator: ", "))"
            )
            say("first \(Formatting.timestamp(sessions.last!.createdAt)), last \(Formatting.timestamp(sessions.first!.createdAt))")
            say("total duration \(Formatting.seconds(total)), customer connected \(Formatting.seconds(connected))")
            say("outcomes: " + outcomes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            say("escalations: \(outcomes["escalated"] ?? 0)")
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute the audit log's hash chain and signed checkpoints; report the first broken event.",
            discussion:
                "Exits 0 when intact, 1 when altered, deleted, inserted/reordered, truncated, a checkpoint is bad, or the log was rolled back behind what the broker signed (an older database copy, a lost WAL)."
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var tokenOptions: TokenOptions
        @Flag(help: "Print JSON.") var json = false
        @Option(help: "Verify this evidence bundle offline instead (no broker): exit 0 good, 1 a check failed, 2 not a bundle.")
        var bundle: String?
        @Option(help: "The broker's public key (PEM) the bundle or the recorded heads must be signed by.") var key: String?
        @Option(help: "Check the log's consistency with every signed tree head recorded in this file (--audit-anchor-file, syslog lines).")
        var against: String?

        func run() async throws {
            if let bundle {
                try BundleCheck.run(path: bundle, keyFile: key)
                return
            }
            if let against {
                try await withAPI(connection, tokenOptions) { try await AnchorCheck.run(path: against, keyFile: key, api: $0) }
                return
            }
            let result = try await withAPI(connection, tokenOptions) { try await $0.verifyAuditLog() }
            if json {
                try sayJSON(result)
            }
            guard result.status == .intact else {
                throw CLIFailure("audit log \(result.status.rawValue) at event #\(result.firstBadSeq ?? 0): \(result.message ?? "")")
            }
            guard !json else { return }
            say("intact: \(result.count) events, head \(result.headHash ?? "-")")
            if let seq = result.lastCheckpointSeq, let at = result.lastCheckpointAt {
                say(
                    "\(result.checkpoints) signed checkpoints, the last at event #\(seq) (\(Formatting.timestamp(at))); \(result.unsignedEvents) events after it"
                )
            } else {
                say("no signed checkpoint yet; \(result.unsignedEvents) events not yet covered by one")
            }
            if let pruned = result.prunedThroughSeq { say("events up to #\(pruned) were pruned (signed)") }
            if let signed = result.signedHeadSeq { say("not rolled back: the log holds event #\(signed), the last one this broker signed") }
            if let key = result.publicKeyFingerprint { say("signing key \(key)") }
        }
    }
}

/// Runs `body` with an API client and reports refusals and unreachable brokers as one line.
func withAPI<T>(
    _ connection: ConnectionOptions,
    _ tokenOptions: TokenOptions,
    refusal: String = "refused",
    _ body: (TandemAPIClient) async throws -> T
) async throws -> T {
    let api = try TandemAPIClient(configuration: connection.clientConfiguration, token: try tokenOptions.resolved())
    do {
        let value = try await body(api)
        try await api.shutdown()
        return value
    } catch let failure as TandemAPIClient.Failure {
        try? await api.shutdown()
        throw CLIFailure("\(refusal): \(failure)")
    } catch let exit as ExitCode {
        try? await api.shutdown()
        throw exit
    } catch let failure as CLIFailure {
        // The body's own explanation, as it is.
        try? await api.shutdown()
        throw failure
    } catch {
        try? await api.shutdown()
        throw CLIFailure("cannot reach the broker at \(connection.server): \(error)")
    }
}
