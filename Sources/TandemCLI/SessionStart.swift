import ArgumentParser
import Foundation
import NIOConcurrencyHelpers
import TandemClient
import TandemProtocol

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
    @Flag(help: "Record the session (frames and annotations) if the customer agrees; the customer is asked.") var record = false
    @OptionGroup var attached: AttachedAgent
    @Flag(help: "Print a link to the browser agent console instead (a sign-in valid 15 minutes); the console starts the session.") var console = false

    /// `--console`: a console sign-in from the API, with the ticket and mode in the link's fragment.
    func printConsoleLink() async throws {
        let grant = try await withAPI(connection, tokenOptions, refusal: "console sign-in refused") { try await $0.consoleToken() }
        var url =
            grant.url + "&ticket="
            + (ticket.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ticket) + "&mode="
            + mode.rawValue
        if let expires { url += "&ttl=\(expires)" }
        if record { url += "&record=1" }
        say("Open the agent console (the link signs you in until \(Formatting.timestamp(grant.expiresAt)); do not share it):")
        say(url)
    }

    func run() async throws {
        let token = try tokenOptions.resolved()
        if console {
            try await printConsoleLink()
            return
        }
        let hello = Hello.agent(
            token: token,
            start: .init(ticket: ticket, mode: mode, ttlSeconds: expires, record: record ? true : nil),
            client: connection.clientConfiguration.clientName
        )
        try await attached.run(hello: hello, token: token, connection: connection)
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
        /// The customer announced a stream (annotations on it are accepted from now on, §5.10).
        var customerStreaming = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        var framesIn = 0
        var bytesIn: Int64 = 0
        var framesOut = 0
        var lastFramesIn = 0
        var lastFramesOut = 0
        var lastTick = ContinuousClock.now
        var streams: [UInt16: MediaCodec] = [:]
        /// What the customer's client decodes (§5.1); nil: images only.
        var customerCodecs: CodecList?
        /// Where the broker sent the agent (`other-broker`, §20.7).
        var redirect: String?
    }

    /// The broker the last refusal sent the agent to, if any.
    var redirect: String? { state.withLockedValue { $0.redirect } }

    private let state = NIOLockedValueBox(State())

    /// Whether the customer's client says it decodes `codec` (§5.1: no list, images only).
    func customerDecodes(_ codec: MediaCodec) -> Bool {
        (state.withLockedValue { $0.customerCodecs } ?? .imagesOnly).contains(codec)
    }

    /// Prints what the event means; returns the ending when the session ended.
    func handle(_ event: TandemEvent) -> SessionEnded? {
        switch event {
        case .control(.sessionCreated(let created)):
            say("Session \(created.sessionID) for ticket \(created.ticket) (\(created.mode.rawValue))")
            say("Join code:  \(created.joinCode)")
            say("Join link:  \(created.joinURL)")
            say("Expires:    \(Formatting.timestamp(created.expiresAt))")
            if created.recording == true { say("Recording:  on, if the customer agrees") }
            say("[\(Formatting.clock())] waiting for the customer…")
        case .control(.peerJoined(let peer)):
            say("[\(Formatting.clock())] customer joined (\(peer.client ?? "unknown client"))")
            state.withLockedValue { $0.customerCodecs = peer.codecs }
            customerArrived()
        case .control(.sessionAssigned(let assigned)):
            state.withLockedValue { $0.customerCodecs = assigned.codecs }
            say(
                "Session \(assigned.sessionID) for ticket \(assigned.ticket) (\(assigned.mode.rawValue)), \(assigned.tier.rawValue) tier, from \(assigned.line)"
            )
            if let from = assigned.transferredFrom {
                say("Transferred by \(from) after \(assigned.waitedSeconds) s in the queue" + (assigned.note.map { ": \($0)" } ?? ""))
                say("[\(Formatting.clock())] " + (assigned.customerPresent ? "the customer is connected" : "the customer is reconnecting…"))
                if assigned.customerPresent { customerArrived() }
            } else {
                say("The customer waited \(assigned.waitedSeconds) s in the queue.")
            }
        case .control(.sessionWatching(let watching)):
            say(
                "Supervising session \(watching.sessionID) for ticket \(watching.ticket) (\(watching.mode.rawValue)) of \(watching.agent) as \(watching.participate ? "a participant" : "an observer")"
            )
            say("[\(Formatting.clock())] " + (watching.customerPresent ? "the customer is connected" : "the customer is not connected"))
            if watching.customerPresent { customerArrived() }
        case .control(.sessionPresence(let presence)):
            say("[\(Formatting.clock())] present: " + presence.present.map(\.summary).joined(separator: ", "))
        case .control(.chat(let chat)) where chat.supervisor != nil:
            say("[\(Formatting.clock())] supervisor \(chat.supervisor ?? ""): \(chat.text)")
        case .control(.peerBack(let presence)) where presence.role == .customer:
            say("[\(Formatting.clock())] the customer is back")
            customerArrived()
        case .control(.sessionTransferred(let notice)) where notice.state == .pending:
            say("[\(Formatting.clock())] handed over to \(notice.toAgent ?? notice.line ?? "another agent")")
        case .control(.chat(let chat)):
            say("[\(Formatting.clock())] \(chat.from?.rawValue ?? "peer"): \(chat.text)")
        case .control(.error(let error)):
            if let url = error.redirect { state.withLockedValue { $0.redirect = url } }
            say("[\(Formatting.clock())] broker: \(error.code): \(error.message)")
        case .control(.sessionEnded(let ended)):
            return ended
        case .control(let message):
            if case .streamStart(let start) = message, start.owner == .customer {
                state.withLockedValue { $0.customerStreaming = true }
                saver?.started(start, from: .customer)
            }
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

    private func customerArrived() {
        let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.customerJoined = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
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

    /// Waits until the customer announced a stream, for at most `limit` (it may share nothing).
    func waitForCustomerStream(atMost limit: Duration) async {
        let deadline = ContinuousClock.now.advanced(by: limit)
        while !state.withLockedValue({ $0.customerStreaming }), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    /// A status line for the last interval, while the customer is connected.
    func tick() -> String? {
        state.withLockedValue { state in
            let now = ContinuousClock.now
            let elapsed = (now - state.lastTick).seconds
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
                fpsIn,
                streams.isEmpty ? "no stream yet" : streams,
                state.framesIn,
                Formatting.bytes(state.bytesIn),
                fpsOut,
                state.framesOut
            )
        }
    }
}
