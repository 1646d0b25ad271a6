import ArgumentParser
import Foundation
import NIOConcurrencyHelpers
import TandemClient
import TandemProtocol
import UnixSignals

struct SessionStart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Open a session for a ticket, print the join code, and stay attached until it ends (Ctrl-C ends it)."
    )
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var tokenOptions: TokenOptions
    @Option(help: "Helpdesk ticket, e.g. HD-1042.") var ticket: String
    @Option(help: "What the customer shares: screen or camera.") var mode: SessionMode = .screen
    @Option(help: "Join-code lifetime in seconds (broker default 600).") var expires: Int?
    @Option(help: "Outcome to record when the session ends (otherwise asked on Ctrl-C).") var outcome: SessionOutcome?
    @Option(help: "Note for the log.") var note: String?
    @Option(help: "Share your own frames back: 'pattern' or a folder of images.") var source: String?
    @Option(help: "Frames per second when sharing with --source.") var fps: Double = 5
    @Option(help: "Save received frames to this folder.") var saveFrames: String?
    @Option(help: "Send control messages (annotations, freeze, chat) from a JSON-lines file, or - for standard input, once the customer joined.") var annotations: String?
    @Flag(help: "Print a link to the browser agent console instead (a sign-in valid 15 minutes); the console starts the session.") var console = false

    /// `--console`: a console sign-in from the API, with the ticket and mode in the link's fragment.
    func printConsoleLink() async throws {
        let grant = try await withAPI(connection, tokenOptions, refusal: "console sign-in refused") { try await $0.consoleToken() }
        var url = grant.url + "&ticket=" + (ticket.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ticket) + "&mode=" + mode.rawValue
        if let expires { url += "&ttl=\(expires)" }
        say("Open the agent console (the link signs you in until \(Formatting.timestamp(grant.expiresAt)); do not share it):")
        say(url)
    }

    func run() async throws {
        let token = try tokenOptions.resolved()
        if console {
            try await printConsoleLink()
            return
        }
        let frames = try source.map(FrameSource.init)
        let configuration = connection.clientConfiguration
        let saver = try saveFrames.map(FrameSaver.init(directory:))
        let script = annotations.map(ControlScript.init(source:))
        let status = AgentStatus(saver: saver)
        let (outcome, note, fps) = (self.outcome, self.note, self.fps)
        let hello = Hello.agent(token: token, start: .init(ticket: ticket, mode: mode, ttlSeconds: expires), client: configuration.clientName)
        let run: (result: SessionEnded??, closure: TandemClosure)
        do {
            run = try await TandemConnection.run(configuration: configuration, hello: hello, logger: CLILog.logger("tandem.cli")) { inbound, outbound -> SessionEnded? in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await _ in await UnixSignalsSequence(trapping: .sigint) {
                            say("")
                            let chosen = outcome ?? askOutcome()
                            try await outbound.send(.sessionEnd(SessionEnd(outcome: chosen, note: note)))
                            return
                        }
                    }
                    group.addTask {
                        while true {
                            try await Task.sleep(for: .seconds(1))
                            if let line = status.tick() { say("[\(Formatting.clock())] \(line)") }
                        }
                    }
                    if let script {
                        group.addTask {
                            await status.waitForCustomer()
                            do {
                                try await script.run(on: outbound)
                            } catch let error as CLIFailure {
                                printError("Error: \(error)")
                            }
                            // Stay attached after the script; the session ends as usual.
                            try await Task.sleep(for: .seconds(365 * 24 * 3600))
                        }
                    }
                    if let frames {
                        group.addTask {
                            await status.waitForCustomer()
                            let format = frames.format
                            try await outbound.send(.streamStart(StreamStart(streamID: 1, source: .screen, codec: format.codec, width: format.width, height: format.height, fps: fps)))
                            var index = 0
                            while true {
                                try await outbound.send(frames.frame(index))
                                status.sent(frames: 1)
                                index += 1
                                try await Task.sleep(for: .seconds(1 / max(fps, 0.1)))
                            }
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
        guard let ended = run.result ?? nil else {
            throw CLIFailure(explain(run.closure))
        }
        say("[\(Formatting.clock())] session ended: \(ended.reason.rawValue), outcome \(ended.outcome?.rawValue ?? "not recorded")")
        if ended.outcome == nil, let late = outcome ?? askOutcome() {
            let api = try TandemAPIClient(configuration: configuration, token: token)
            do {
                let record = try await api.endSession(id: ended.sessionID, outcome: late, note: note)
                try await api.shutdown()
                say("Recorded outcome \(record.outcome?.rawValue ?? "-") for \(record.id).")
            } catch {
                try? await api.shutdown()
                throw CLIFailure("could not record the outcome (retry with tandem session end \(ended.sessionID)): \(error)")
            }
        }
    }
}

/// What the attached agent sees: the code, then live status lines.
final class AgentStatus: Sendable {
    let saver: FrameSaver?

    init(saver: FrameSaver?) {
        self.saver = saver
    }

    private struct State {
        var customerJoined = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        var framesIn = 0
        var bytesIn: Int64 = 0
        var framesOut = 0
        var lastFramesIn = 0
        var lastFramesOut = 0
        var lastTick = ContinuousClock.now
        var streams: [UInt16: MediaCodec] = [:]
    }

    private let state = NIOLockedValueBox(State())

    /// Prints what the event means; returns the ending when the session ended.
    func handle(_ event: TandemEvent) -> SessionEnded? {
        switch event {
        case .control(.sessionCreated(let created)):
            say("Session \(created.sessionID) for ticket \(created.ticket) (\(created.mode.rawValue))")
            say("Join code:  \(created.joinCode)")
            say("Join link:  \(created.joinURL)")
            say("Expires:    \(Formatting.timestamp(created.expiresAt))")
            say("[\(Formatting.clock())] waiting for the customer…")
        case .control(.peerJoined(let peer)):
            say("[\(Formatting.clock())] customer joined (\(peer.client ?? "unknown client"))")
            let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
                state.customerJoined = true
                defer { state.waiters = [] }
                return state.waiters
            }
            waiters.forEach { $0.resume() }
        case .control(.chat(let chat)):
            say("[\(Formatting.clock())] \(chat.from?.rawValue ?? "peer"): \(chat.text)")
        case .control(.error(let error)):
            say("[\(Formatting.clock())] broker: \(error.code): \(error.message)")
        case .control(.sessionEnded(let ended)):
            return ended
        case .control(let message):
            if let line = describe(message) { say("[\(Formatting.clock())] \(line)") }
        case .frame(let frame):
            saver?.save(frame, from: .customer)
            state.withLockedValue { state in
                state.framesIn += 1
                state.bytesIn += Int64(frame.payload.readableBytes)
                state.streams[frame.header.streamID] = frame.header.codec
            }
        }
        return nil
    }

    func sent(frames: Int) {
        state.withLockedValue { $0.framesOut += frames }
    }

    func waitForCustomer() async {
        await withCheckedContinuation { continuation in
            let joined = state.withLockedValue { state -> Bool in
                if !state.customerJoined { state.waiters.append(continuation) }
                return state.customerJoined
            }
            if joined { continuation.resume() }
        }
    }

    /// A status line for the last interval, while the customer is connected.
    func tick() -> String? {
        state.withLockedValue { state in
            let now = ContinuousClock.now
            let elapsed = Double((now - state.lastTick).components.seconds) + Double((now - state.lastTick).components.attoseconds) / 1e18
            defer {
                state.lastTick = now
                state.lastFramesIn = state.framesIn
                state.lastFramesOut = state.framesOut
            }
            guard state.customerJoined, elapsed > 0 else { return nil }
            let fpsIn = Double(state.framesIn - state.lastFramesIn) / elapsed
            let fpsOut = Double(state.framesOut - state.lastFramesOut) / elapsed
            let streams = state.streams.sorted { $0.key < $1.key }.map { "stream \($0.key) \($0.value.name)" }.joined(separator: ", ")
            return String(
                format: "streaming: in %.1f fps (%@), %d frames, %@ · out %.1f fps, %d frames",
                fpsIn, streams.isEmpty ? "no stream yet" : streams, state.framesIn, Formatting.bytes(state.bytesIn), fpsOut, state.framesOut
            )
        }
    }
}
