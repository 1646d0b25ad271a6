import ArgumentParser
import Foundation
import TandemClient
import TandemProtocol
import UnixSignals

/// `tandem session list`: the live sessions a supervisor can join (§18).
struct LiveSessionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "The live sessions of the broker, with their agent and supervisors (admins)."
    )
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var tokenOptions: TokenOptions
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let list = try await withAPI(connection, tokenOptions, refusal: "cannot list live sessions") { try await $0.liveSessions() }
        if json {
            try sayJSON(list)
            return
        }
        guard !list.sessions.isEmpty else {
            say("No live sessions.")
            return
        }
        for session in list.sessions {
            var state = session.transferring ? "being transferred" : session.customerPresent ? "customer connected" : "waiting for the customer"
            if !session.supervisors.isEmpty { state += "; supervisors " + session.supervisors.joined(separator: ", ") }
            say(
                "\(session.id)  \(session.ticket)  \(session.agent)  \(session.mode.rawValue)  since \(Formatting.timestamp(session.createdAt))  \(state)"
            )
        }
    }
}

/// `tandem session watch`: join a live session as a supervisor (§18) and stay until it ends.
struct SessionWatch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Join a live session as a supervisor: observe (see everything, cannot draw), or --participate (also draw and chat). Ctrl-C leaves.",
        discussion: "Admins only. The customer and the agent are told who is present. Definitions: protocol/README.md § Supervisors."
    )
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var tokenOptions: TokenOptions
    @Argument(help: "Session id (s_...).") var id: String
    @Flag(help: "Take part: draw annotations and chat (else observe only).") var participate = false
    @Option(help: "Save both sides' frames to this folder.") var saveFrames: String?
    @Option(help: "With --participate: send annotations and chat from a JSON-lines file, or - for standard input.") var annotations: String?

    func run() async throws {
        let token = try tokenOptions.resolved()
        let configuration = connection.clientConfiguration
        let status = AgentStatus(saver: try saveFrames.map(FrameSaver.init(directory:)))
        let script = annotations.map(ControlScript.init(source:))
        let hello = Hello.watch(token: token, .init(sessionID: id, participate: participate), client: configuration.clientName)
        let run: (result: SessionEnded??, closure: TandemClosure)
        do {
            run = try await TandemConnection.run(configuration: configuration, hello: hello, logger: CLILog.logger("tandem.cli")) {
                inbound,
                outbound -> SessionEnded? in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await _ in await UnixSignalsSequence(trapping: .sigint) {
                            say("")
                            try await outbound.send(.sessionEnd(SessionEnd()))
                            return
                        }
                    }
                    if let script {
                        group.addTask {
                            await status.waitForCustomer()
                            try await script.runThenStay(on: outbound)
                        }
                    }
                    defer { group.cancelAll() }
                    for try await event in inbound {
                        if let ended = status.handle(event) { return ended }
                    }
                    return nil
                }
            }
        } catch {
            throw CLIFailure("cannot connect to the broker at \(connection.server): \(error)")
        }
        if let ended = run.result ?? nil {
            say("[\(Formatting.clock())] session ended: \(ended.reason.rawValue), outcome \(ended.outcome?.rawValue ?? "not recorded")")
        } else if run.closure.code == 1000 {
            say("[\(Formatting.clock())] you left the session")
        } else {
            throw CLIFailure(explain(run.closure))
        }
    }
}

extension SessionPresence.Person {
    /// `alice (agent)`, `carol (supervisor, observing)`.
    var summary: String {
        switch role {
        case .agent: "\(name) (agent)"
        case .customer: "the customer"
        case .supervisor: "\(name) (supervisor, \(participating == true ? "taking part" : "observing"))"
        }
    }
}
