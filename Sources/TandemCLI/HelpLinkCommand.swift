import ArgumentParser
import Foundation
import TandemClient
import TandemCore
import TandemProtocol

/// `tandem help-link`: a signed link to `/help` that queues its customer with a ticket, tier
/// and line the customer cannot change (protocol/README.md §16.1).
struct HelpLinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "help-link",
        abstract: "Make a signed help link: the customer who opens it waits in the queue with this ticket, tier and line (agents, admins)."
    )
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var tokenOptions: TokenOptions
    @Option(help: "The helpdesk ticket, e.g. HD-1042.") var ticket: String
    @Option(help: "The customer's support tier: basic, standard or premium.") var tier: SupportTier
    @Option(help: "The line the customer waits for (default line1).") var line: String?
    @Option(help: "How long the link works: seconds, or a number with s, m, h or d (default 24h, at most 7d).") var expires: String?
    @Option(help: "What the agent must know, comma-separated (at most 8), e.g. router,tv: only agents with these skills are offered it.")
    var skills: String?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if !TicketID.isValid(ticket) { throw ValidationError("'\(ticket)' is not a ticket: 1-64 printable characters without spaces.") }
        if let line, !SupportLine.isValid(line) {
            throw ValidationError("'\(line)' is not a line name: lower-case letters, digits and -, like line1.")
        }
        if let expires, Self.seconds(expires) == nil { throw ValidationError("'\(expires)' is not a duration: e.g. 3600, 90m, 24h or 7d.") }
    }

    /// `3600`, `3600s`, `90m`, `24h`, `7d` in seconds; nil when it is none of these or not positive.
    static func seconds(_ text: String) -> Int? {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        var digits = Substring(text)
        var unit = 1
        if let last = text.last, let factor = units[last] {
            digits = text.dropLast()
            unit = factor
        }
        guard let value = Int(digits), value > 0, value <= Int.max / unit else { return nil }
        return value * unit
    }

    func run() async throws {
        let skillList = skills.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        let request = HelpLinkRequest(ticket: ticket, tier: tier, line: line, expiresInSeconds: expires.flatMap(Self.seconds), skills: skillList)
        let grant = try await withAPI(connection, tokenOptions, refusal: "cannot make a help link") { try await $0.helpLink(request) }
        if json {
            try sayJSON(grant)
            return
        }
        say("Help link for ticket \(grant.ticket) (\(grant.tier.rawValue), \(grant.line)), valid until \(Formatting.timestamp(grant.expiresAt)):")
        say(grant.url)
    }
}
