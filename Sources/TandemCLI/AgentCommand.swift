import ArgumentParser
import Foundation
import NIOConcurrencyHelpers
import TandemClient
import TandemProtocol

/// `tandem agent`: be offered customers, and see who is on the floor (protocol/README.md §20).
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Go online to be offered customers, or list the agents on the floor.",
        subcommands: [Online.self, List.self]
    )

    struct Online: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stay online and take the customers offered to you (Ctrl-C goes offline).",
            discussion: """
                Keeps a presence connection. Each offer is printed with its ticket, tier and wait; answer y to take it \
                (the session then runs here as with `tandem queue take`) or n to decline. An offer not answered in time \
                moves on and sets you away. Type `away` or `available` to change your state.
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var tokenOptions: TokenOptions
        @Option(help: "The lines you answer, comma-separated.") var lines: String = SupportLine.first
        @Option(help: "What you know, comma-separated (customers' help links may ask for skills).") var skills: String?
        @Option(help: "Live sessions you handle at once (1-8).") var maxSessions: Int = 1
        @Flag(help: "Start away (no offers until you type `available`).") var away = false
        @Flag(help: "Take every offer without asking (scripts, kiosks).") var autoAccept = false
        @Flag(help: "Record accepted sessions if the customer agrees.") var record = false
        @OptionGroup var attached: AttachedAgent

        var presence: Presence {
            Presence(
                state: away ? .away : .available,
                lines: Self.list(lines),
                skills: skills.map(Self.list) ?? [],
                maxSessions: maxSessions
            )
        }

        static func list(_ text: String) -> [String] {
            text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }

        func validate() throws {
            if let field = presence.invalidField {
                throw ValidationError(
                    "--\(field == "maxSessions" ? "max-sessions" : field) is out of range: up to 16 lines and 16 skills of a-z, 0-9 and -, 1-8 sessions."
                )
            }
        }

        func run() async throws {
            let token = try tokenOptions.resolved()
            let configuration = connection.clientConfiguration
            let hello = Hello.presence(token: token, presence, client: configuration.clientName)
            let offers = OfferDesk()
            let (autoAccept, record, attached, connection) = (self.autoAccept, self.record, self.attached, self.connection)
            // The agent's answers come from a thread of their own (a blocked read would hold one
            // of the few cooperative threads, and could not be cancelled).
            let lines = Self.standardInputLines()
            let (accepted, accept) = AsyncStream<QueueOffer>.makeStream()
            let run = try await TandemConnection.run(configuration: configuration, hello: hello, logger: CLILog.logger("tandem.cli")) {
                inbound,
                outbound in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        // y / n answer the oldest open offer; away / available change the state.
                        for await line in lines {
                            switch line.trimmingCharacters(in: .whitespaces).lowercased() {
                            case "y", "yes":
                                if let offer = offers.answer() { accept.yield(offer) } else { say("No offer is open.") }
                            case "n", "no":
                                if let offer = offers.answer() { try await outbound.send(.queueDecline(OfferReference(offerID: offer.offerID))) }
                            case "away", "available":
                                try await outbound.send(.presenceSet(Presence(state: line.contains("away") ? .away : .available)))
                            case "":
                                break
                            default:
                                say("Answer y or n to an offer, or type away / available.")
                            }
                        }
                    }
                    group.addTask {
                        // Each accepted offer runs as its own session, as `queue take` does.
                        await withTaskGroup(of: Void.self) { sessions in
                            for await offer in accepted {
                                sessions.addTask {
                                    let take = Hello.take(
                                        token: token,
                                        .init(record: record ? true : nil, offer: offer.offerID),
                                        client: configuration.clientName
                                    )
                                    do {
                                        try await attached.run(hello: take, token: token, connection: connection)
                                    } catch {
                                        say("[\(Formatting.clock())] \(error)")
                                    }
                                }
                            }
                        }
                    }
                    defer {
                        accept.finish()
                        group.cancelAll()
                    }
                    for try await event in inbound {
                        guard case .control(let message) = event else { continue }
                        switch message {
                        case .presenceStatus(let status):
                            var line =
                                "[\(Formatting.clock())] \(status.name) is \(status.state.rawValue): \(status.sessions)/\(status.maxSessions) sessions"
                            line += ", lines \(status.lines.joined(separator: ","))"
                            if !status.skills.isEmpty { line += ", skills \(status.skills.joined(separator: ","))" }
                            if status.reason == "missed-offer" { line += " (an offer was not answered in time; type `available` to go on)" }
                            say(line)
                        case .queueOffer(let offer):
                            say(Self.describe(offer) + (autoAccept ? " — taking it" : " — take it? [y/n]"))
                            if autoAccept { accept.yield(offer) } else { offers.offered(offer) }
                        case .queueWithdrawn(let withdrawn):
                            offers.withdrawn(withdrawn.offerID)
                            say("[\(Formatting.clock())] offer \(withdrawn.offerID) withdrawn: \(withdrawn.reason.rawValue)")
                        case .error(let error):
                            say("[\(Formatting.clock())] broker: \(error.message)")
                        default:
                            break
                        }
                    }
                }
            }
            if let code = run.closure.tandemCode, code != .normal, code != .goingAway {
                throw CLIFailure(explain(run.closure))
            }
        }

        /// Standard input, line by line, read on a thread of its own.
        static func standardInputLines() -> AsyncStream<String> {
            let (lines, sink) = AsyncStream<String>.makeStream()
            let reader = Thread {
                while let line = readLine() { sink.yield(line) }
                sink.finish()
            }
            reader.start()
            return lines
        }

        static func describe(_ offer: QueueOffer) -> String {
            var text =
                "[\(Formatting.clock())] offer \(offer.offerID): \(offer.ticket), \(offer.tier.rawValue), \(offer.line), waited \(Formatting.seconds(Double(offer.waitedSeconds)))"
            if !offer.skills.isEmpty { text += ", needs \(offer.skills.joined(separator: ","))" }
            if let from = offer.from { text += ", transferred by \(from)" + (offer.note.map { ": \($0)" } ?? "") }
            text += ", until \(Formatting.clock(offer.until))"
            return text
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Who is available, busy (with how many sessions) or away on this broker.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var tokenOptions: TokenOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let list = try await withAPI(connection, tokenOptions, refusal: "cannot list the agents") { try await $0.agents() }
            if json {
                try sayJSON(list)
                return
            }
            guard !list.agents.isEmpty else {
                say("Nobody is online.")
                return
            }
            say("AGENT            STATE      SESSIONS  LINES            SKILLS")
            for agent in list.agents {
                let sessions = agent.state == .offline ? "\(agent.sessions)" : "\(agent.sessions)/\(agent.maxSessions)"
                say(
                    agent.name.padding(toLength: 17, withPad: " ", startingAt: 0)
                        + agent.state.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)
                        + sessions.padding(toLength: 10, withPad: " ", startingAt: 0)
                        + agent.lines.joined(separator: ",").padding(toLength: 17, withPad: " ", startingAt: 0)
                        + agent.skills.joined(separator: ",")
                )
            }
        }
    }
}

/// The offers of `tandem agent online` waiting for y/n, oldest first.
final class OfferDesk: Sendable {
    private struct State {
        var pending: [QueueOffer] = []
    }

    private let state = NIOLockedValueBox(State())

    func offered(_ offer: QueueOffer) {
        state.withLockedValue { $0.pending.append(offer) }
    }

    /// The oldest offer still open, which the answer is about (offers past their time are dropped).
    func answer(now: Date = Date()) -> QueueOffer? {
        state.withLockedValue { state in
            state.pending.removeAll { $0.until <= now }
            return state.pending.isEmpty ? nil : state.pending.removeFirst()
        }
    }

    func withdrawn(_ offerID: String) {
        state.withLockedValue { $0.pending.removeAll { $0.offerID == offerID } }
    }
}
