import ArgumentParser
import Foundation
import TandemClient
import TandemProtocol

struct Session: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start and end support sessions (agents).",
        subcommands: [SessionStart.self, SessionEndCommand.self, SessionTransferCommand.self, LiveSessionsCommand.self, SessionWatch.self]
    )
}

struct SessionEndCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "end",
        abstract: "End a live session, or record the outcome of one that ended without it."
    )
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var tokenOptions: TokenOptions
    @Argument(help: "Session id (s_...).") var id: String
    @Option(help: "resolved, unresolved, escalated or abandoned.") var outcome: SessionOutcome
    @Option(help: "A note for the log (max 2000 characters).") var note: String?

    func run() async throws {
        let record = try await withAPI(connection, tokenOptions, refusal: "cannot end session \(id)") {
            try await $0.endSession(id: id, outcome: outcome, note: note)
        }
        say(
            "Session \(record.id) (ticket \(record.ticket)) ended: \(record.endReason?.rawValue ?? "-"), outcome \(record.outcome?.rawValue ?? "-"), duration \(Formatting.seconds(record.durationSeconds))."
        )
    }
}

extension SessionOutcome: ExpressibleByArgument {}
extension SessionMode: ExpressibleByArgument {}

/// A failure the CLI reports as one line and exit code 1 (controls in it, such as a
/// broker's or peer's text, as visible escapes).
struct CLIFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = TerminalText.escaped(description) }
}

/// The message a customer or agent sees for a close code.
func explain(_ closure: TandemClosure) -> String {
    switch closure.tandemCode {
    case .unknownCode: "That join code is not valid. Check the digits with your agent."
    case .codeUsed: "That join code was already used. Ask your agent for a new one."
    case .codeExpired: "That join code has expired. Ask your agent for a new one."
    case .joinThrottled: "Too many attempts from this network or on this broker lately. Wait a few minutes, then try again."
    case .queueLimit: "Your network already holds its most places in the queue. Wait in the one you have."
    case .helpLinkRefused: "The help link is not valid or has expired. Ask your helpdesk for a new one."
    case .tryAgainLater: "The broker holds too many unused join codes. Try again when customers have joined or codes expired."
    case .unauthorized: "The broker refused the token (missing, unknown or revoked)."
    case .forbidden: "This user's role may not do that (agents and admins start and take sessions; only admins supervise)."
    case .badRequest: "The broker refused the request as malformed."
    case .unsupportedVersion: "The broker speaks a different protocol version."
    case .helloTimeout: "The broker closed the connection: no hello in time."
    case .goingAway: "The broker is shutting down."
    case .slowConsumer: "Disconnected: this client read too slowly."
    case .queueEmpty: "Nobody is waiting in that line's queue right now."
    case .unknownSession: "There is no live session with that id on this broker."
    case .handedOver: "You handed the session over; it goes on with the next agent."
    default: "The broker \(closure)."
    }
}

/// Asks for an outcome on the terminal; nil when stdin is not a terminal or the answer is empty.
func askOutcome() -> SessionOutcome? {
    guard isatty(0) == 1 else { return nil }
    while true {
        FileHandle.standardOutput.write(Data("Outcome (resolved/unresolved/escalated/abandoned, empty to decide later): ".utf8))
        guard let line = readLine()?.trimmingCharacters(in: .whitespaces), !line.isEmpty else { return nil }
        if let outcome = SessionOutcome(rawValue: line) { return outcome }
    }
}
