import ArgumentParser
import Foundation
import TandemClient
import TandemProtocol

/// `tandem session transfer`: hand a live session to a line or a named agent (§17).
struct SessionTransferCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer",
        abstract: "Hand a live session to another line (--to line2) or agent (--to-agent NAME); the customer stays connected.",
        discussion:
            "The next agent takes it with `tandem queue take --line LINE` (a named agent: any line). Definitions: protocol/README.md § Transfer."
    )
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var tokenOptions: TokenOptions
    @Argument(help: "Session id (s_...).") var id: String
    @Option(help: "The line to escalate to, e.g. line2.") var to: String?
    @Option(help: "The agent to hand the session to.") var toAgent: String?
    @Option(help: "A note for the next agent and the log (max 500 characters).") var note: String?
    @Option(help: "The reason code, one of the broker's --transfer-reason list when it has one.") var reason: String?

    func validate() throws {
        guard (to == nil) != (toAgent == nil) else { throw ValidationError("Give exactly one of --to LINE and --to-agent NAME.") }
        if let to, !SupportLine.isValid(to) { throw ValidationError("'\(to)' is not a line name: lower-case letters, digits and -, like line2.") }
    }

    func run() async throws {
        let request = TransferRequest(line: to, agent: toAgent, note: note, reason: reason)
        let notice = try await withAPI(connection, tokenOptions, refusal: "cannot transfer session \(id)") {
            try await $0.transferSession(id: id, request)
        }
        let target = notice.toAgent.map { "agent \($0)" } ?? "line \(notice.line ?? "-")"
        say(
            "Session \(notice.sessionID) handed over by \(notice.from) to \(target); it waits until \(Formatting.timestamp(notice.until ?? Date())) for an agent to take it."
        )
    }
}
