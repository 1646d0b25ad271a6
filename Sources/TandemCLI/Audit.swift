import ArgumentParser
import Foundation
import TandemClient
import TandemProtocol

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Review the session log (auditors and admins see all sessions, agents their own).",
        subcommands: [Sessions.self]
    )

    struct Sessions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List logged sessions, newest first.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var tokenOptions: TokenOptions
        @Option(help: "Only this ticket.") var ticket: String?
        @Option(help: "Only this agent.") var agent: String?
        @Option(help: "At most this many sessions.") var limit: Int = 1000
        @Flag(help: "Print JSON instead of a table.") var json = false

        func run() async throws {
            let api = try TandemAPIClient(configuration: connection.clientConfiguration, token: try tokenOptions.resolved())
            let sessions: [SessionRecord]
            do {
                sessions = try await api.sessions(ticket: ticket, agent: agent, limit: limit)
                try await api.shutdown()
            } catch let failure as TandemAPIClient.Failure {
                try? await api.shutdown()
                throw CLIFailure("audit query refused: \(failure)")
            } catch {
                try? await api.shutdown()
                throw CLIFailure("cannot reach the broker at \(connection.server): \(error)")
            }
            if json {
                let encoder = TandemJSON.makeEncoder()
                encoder.outputFormatting.insert(.prettyPrinted)
                say(String(decoding: try encoder.encode(SessionList(sessions: sessions)), as: UTF8.self))
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
}
