import ArgumentParser
import Foundation
import TandemClient
import TandemProtocol

/// `tandem queue`: customers waiting without a code, and transferred sessions (§16, §17).
struct Queue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "See who waits for an agent, and take the next (agents).",
        subcommands: [List.self, Take.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Who waits, per line, in the order agents take them: tier first, then waiting time."
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var tokenOptions: TokenOptions
        @Option(help: "Only this line.") var line: String?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            var listing = try await withAPI(connection, tokenOptions, refusal: "cannot read the queue") { try await $0.queue() }
            if let line { listing.entries = listing.entries.filter { $0.line == line && $0.toAgent == nil } }
            if json {
                try sayJSON(listing)
                return
            }
            guard !listing.entries.isEmpty else {
                say("Nobody is waiting" + (line.map { " in \($0)" } ?? "") + ".")
                return
            }
            say("POS  LINE      TIER      WAITED  TICKET           KIND")
            for entry in listing.entries {
                let line = entry.toAgent.map { "@" + $0 } ?? entry.line
                var kind = entry.kind == .customer ? "customer \(entry.id)" : "transfer \(entry.id) from \(entry.from ?? "-")"
                if let note = entry.note { kind += " (\(note))" }
                say(
                    String(entry.position).padding(toLength: 5, withPad: " ", startingAt: 0)
                        + line.padding(toLength: 10, withPad: " ", startingAt: 0)
                        + entry.tier.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
                        + Formatting.seconds(Double(entry.waitedSeconds)).padding(toLength: 8, withPad: " ", startingAt: 0)
                        + entry.ticket.padding(toLength: 17, withPad: " ", startingAt: 0)
                        + kind
                )
            }
        }
    }

    struct Take: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take the next customer or transferred session of a line and stay attached until it ends (Ctrl-C ends it).",
            discussion: "Sessions transferred to you by name come first, then the line's highest tier, then the longest wait."
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var tokenOptions: TokenOptions
        @Option(help: "The line to take from.") var line: String = SupportLine.first
        @Flag(help: "Record the session (frames and annotations) if the customer agrees.") var record = false
        @OptionGroup var attached: AttachedAgent

        func validate() throws {
            guard SupportLine.isValid(line) else {
                throw ValidationError("'\(line)' is not a line name: lower-case letters, digits and -, like line2.")
            }
        }

        func run() async throws {
            let token = try tokenOptions.resolved()
            let hello = Hello.take(token: token, .init(line: line, record: record ? true : nil), client: connection.clientConfiguration.clientName)
            try await attached.run(hello: hello, token: token, connection: connection)
        }
    }
}

extension SupportTier: ExpressibleByArgument {}
