import ArgumentParser
import Foundation
import Synchronization
import TandemClient
import TandemCore
import TandemProtocol

struct Join: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Join a session as the customer with the code or link the agent gave you, and stream frames."
    )
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Join code (482-913-557-301) or join link (https://host:port/j/482913557301); or use --queue.") var code: String?
    @Flag(help: "No code: wait in the support queue until an agent takes you (needs --ticket, or --link). Without a help link you wait as basic.")
    var queue = false
    @Option(help: "The help link your helpdesk sent (https://host/help?ticket=…&sig=…): wait in the queue with its ticket, support tier and line.")
    var link: String?
    @Option(help: "With --queue: your helpdesk ticket, e.g. HD-1042.") var ticket: String?
    @Option(help: "With --queue: the line to wait for.") var line: String?
    @Option(help: "With --queue: what you offer to share, screen or camera.") var mode: SessionMode = .screen
    @Option(
        help:
            "With --queue: once the broker offers a callback (after its callback wait), leave this message as a callback request instead of waiting longer (at most 500 characters)."
    ) var callback: String?
    @Option(help: "With --callback: how to reach you, e.g. a phone number or a time (at most 100 characters).") var contact: String?
    @Option(
        help:
            "What to stream: 'pattern' (or pattern:WxH), a folder of .jpg/.png/.webp images, or a VP8/VP9/AV1 .ivf file (at its own frame rate), sent in a loop."
    ) var source: String = "pattern"
    @Option(help: "Frames per second.") var fps: Double = 5
    @Option(help: "Leave after sending this many frames (default: stay until the agent ends the session or Ctrl-C).") var maxFrames: Int?
    @Option(help: "Save the agent's frames to this folder.") var saveFrames: String?
    @Option(help: "Send control messages (annotations, freeze, chat) from a JSON-lines file, or - for standard input, after joining.")
    var annotations: String?
    @Option(help: "Consent to share: 'ask' (prompt on the terminal), 'yes', or 'no' (join for chat and the agent's view only).") var consent:
        ConsentChoice = .ask
    @Flag(help: "In a recorded session: share, but do not agree to the recording (nothing is recorded).") var noRecording = false
    @Flag(
        help:
            "Do not answer the post-session survey. Without it, when the session ends the survey's questions (solved? satisfaction 1-5, recommendation 0-10 when asked, a comment) are read from standard input; Enter on the first question or the end of the input skips it."
    ) var noSurvey = false

    enum ConsentChoice: String, ExpressibleByArgument, CaseIterable { case ask, yes, no }

    func validate() throws {
        let queued = queue || link != nil
        guard (code == nil) == queued else { throw ValidationError("Give a join code or link, or --queue with --ticket or --link (not both).") }
        if queued, link == nil, ticket == nil {
            throw ValidationError("--queue needs --ticket, the helpdesk ticket you are calling about (or --link, your helpdesk's help link).")
        }
        if let link, Self.helpLink(link) == nil {
            throw ValidationError("'\(link)' is not a help link: https://host/help?ticket=…&tier=…&expires=…&sig=…")
        }
        if link != nil, ticket != nil || line != nil { throw ValidationError("--link sets the ticket and line; leave out --ticket and --line.") }
        if let ticket, !TicketID.isValid(ticket) { throw ValidationError("'\(ticket)' is not a ticket: 1-64 printable characters without spaces.") }
        if let line, !SupportLine.isValid(line) {
            throw ValidationError("'\(line)' is not a line name: lower-case letters, digits and -, like line1.")
        }
        if callback != nil, !queued { throw ValidationError("--callback is for waiting in the queue: give --queue or --link.") }
        if contact != nil, callback == nil { throw ValidationError("--contact goes with --callback.") }
        if let callback {
            let request = QueueCallback(message: callback, contact: contact)
            if callback.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw ValidationError("--callback needs a message.") }
            if let field = request.invalidField {
                throw ValidationError(
                    field == "message"
                        ? "--callback is limited to \(QueueCallback.maxMessageLength) characters."
                        : "--contact is limited to \(QueueCallback.maxContactLength) characters."
                )
            }
        }
    }

    func run() async throws {
        var configuration = connection.clientConfiguration
        var joinCode = code ?? ""
        // The link's key (`#k=…`, §3.1) spares the join the guessing limits; a typed code has none.
        var linkKey: String?
        if let code, let url = URL(string: code), let scheme = url.scheme, let host = url.host, ["https", "http"].contains(scheme) {
            configuration.serverURL = "\(scheme)://\(host.contains(":") ? "[\(host)]" : host)" + (url.port.map { ":\($0)" } ?? "")
            joinCode = url.lastPathComponent
            linkKey = JoinLink.key(fromLink: code)
        }
        guard queue || link != nil || JoinCodeFormat.normalize(joinCode) != nil else {
            throw CLIFailure("'\(joinCode)' is not a join code: it has twelve digits, like 482-913-557-301")
        }
        // Without a help link the broker queues the customer as basic (§16.1).
        let signed = link.flatMap(Self.helpLink)
        if let signed { configuration.serverURL = signed.server }
        let queueRequest: Hello.QueueRequest? =
            if let signed {
                Hello.QueueRequest(
                    ticket: signed.link.ticket,
                    tier: signed.link.tier,
                    mode: mode,
                    line: signed.link.line,
                    expires: signed.link.expires,
                    signature: signed.signature,
                    skills: signed.link.skills.isEmpty ? nil : signed.link.skills
                )
            } else if queue {
                Hello.QueueRequest(ticket: ticket ?? "", tier: .basic, mode: mode, line: line)
            } else {
                nil
            }
        if consent == .ask, isatty(STDIN_FILENO) == 0 || annotations == "-" {
            throw CLIFailure(
                "cannot ask for consent: standard input is not a terminal (or carries --annotations -); pass --consent yes or --consent no"
            )
        }
        let consent = self.consent
        let frames = try FrameSource(source)
        let saver = try saveFrames.map(FrameSaver.init(directory:))
        let script = annotations.map(ControlScript.init(source:))
        let (fps, maxFrames) = (self.fps, self.maxFrames)
        let redirect = Mutex<String?>(nil)
        // §20.4: the callback request to leave when offered, and the broker's receipt.
        let callbackRequest = callback.map { QueueCallback(message: $0, contact: contact) }
        let callbackRecorded = Mutex<QueueCallbackRecorded?>(nil)
        let throttledFor = Mutex<Int?>(nil)
        let joinCodeValue = joinCode
        let linkKeyValue = linkKey
        @Sendable func connect(_ configuration: TandemClientConfiguration) async throws -> (result: SessionEnded??, closure: TandemClosure) {
            do {
                return try await TandemConnection.run(
                    configuration: configuration,
                    hello: (queueRequest.map { .queue($0, client: configuration.clientName) }
                        ?? Hello.customer(code: joinCodeValue, key: linkKeyValue, client: configuration.clientName)).acceptingEveryCodec,
                    logger: CLILog.logger("tandem.cli")
                ) { inbound, outbound -> SessionEnded? in
                    var iterator = inbound.makeAsyncIterator()
                    var welcome: SessionJoined?
                    var lastPosition = 0
                    var lastEstimate: Int?
                    var callbackHandled = false
                    // Before the welcome the broker may only refuse: read on until it closes.
                    while welcome == nil, let event = try await iterator.next() {
                        if case .control(.sessionJoined(let joined)) = event { welcome = joined }
                        if case .control(.queueStatus(let status)) = event {
                            if status.position != lastPosition || status.estimatedWaitSeconds != lastEstimate {
                                lastPosition = status.position
                                lastEstimate = status.estimatedWaitSeconds
                                say(Self.queueLine(status))
                            }
                            if status.callbackOffered == true, !callbackHandled {
                                callbackHandled = true
                                if let callbackRequest {
                                    say("Leaving your callback request instead of waiting longer…")
                                    try await outbound.send(.queueCallback(callbackRequest))
                                } else {
                                    say(
                                        "A callback request can be left instead of waiting (--callback MESSAGE, and --contact, when you join the queue; a new request waits for the offer again). You keep your place here."
                                    )
                                }
                            }
                        }
                        if case .control(.queueCallbackRecorded(let recorded)) = event { callbackRecorded.withLock { $0 = recorded } }
                        // Another broker of the deployment holds the session (§14).
                        if case .control(.error(let error)) = event, let url = error.redirect { redirect.withLock { $0 = url } }
                        if case .control(.error(let error)) = event, let wait = error.retryAfter { throttledFor.withLock { $0 = wait } }
                    }
                    guard let joined = welcome else { return nil }
                    say("Joined \(joined.agent)'s session for ticket \(joined.ticket). \(joined.agent) asks to see your \(joined.mode.rawValue).")
                    if joined.recording == true {
                        say("This session is recorded (what you share and the agent's drawings) for the ticket's record, if you agree.")
                    }
                    let granted: Bool
                    switch consent {
                    case .yes: granted = true
                    case .no: granted = false
                    case .ask:
                        let recorded = joined.recording == true && !noRecording ? " (recorded)" : ""
                        FileHandle.standardOutput.write(
                            Data(TerminalText.escaped("Share your \(joined.mode.rawValue) with \(joined.agent)\(recorded)? [y/N] ").utf8)
                        )
                        granted = ["y", "yes"].contains(readLine()?.lowercased().trimmingCharacters(in: .whitespaces) ?? "")
                    }
                    let recording: Bool? = joined.recording == true ? granted && !noRecording : nil
                    try await outbound.send(
                        .consent(Consent(granted: granted, source: joined.mode == .camera ? .camera : .screen, recording: recording))
                    )
                    if recording == true {
                        say("You agreed to the recording.")
                    } else if joined.recording == true {
                        say("Nothing of this session is recorded.")
                    }
                    say(
                        granted
                            ? "Sharing your \(joined.mode.rawValue) (\(fps) fps). Ctrl-C leaves."
                            : "Not sharing anything; chat and the agent's view only. Ctrl-C leaves."
                    )
                    // Annotations need a started stream (§5.10): a script that draws on ours runs after its stream.start.
                    let (announced, streamAnnounced) = AsyncStream<Never>.makeStream()
                    if !granted { streamAnnounced.finish() }
                    return try await withThrowingTaskGroup(of: SessionEnded?.self) { group in
                        if let script {
                            group.addTask {
                                for await _ in announced {}
                                try await script.runThenStay(on: outbound)
                                return nil
                            }
                        }
                        if granted {
                            group.addTask {
                                let start = frames.streamStart(source: joined.mode == .camera ? .camera : .screen, fps: fps)
                                if !(joined.codecs ?? .imagesOnly).contains(start.codec) {
                                    say("Note: the agent's client does not decode \(start.codec.name); it will not show this stream.")
                                }
                                try await outbound.send(.streamStart(start))
                                streamAnnounced.finish()
                                var index = 0
                                while maxFrames.map({ index < $0 }) ?? true {
                                    try await outbound.send(frames.frame(index))
                                    index += 1
                                    try await Task.sleep(for: .seconds(1 / start.fps))
                                }
                                say("Sent \(index) frames; leaving.")
                                try await outbound.send(.sessionEnd(SessionEnd()))
                                return nil
                            }
                        }
                        defer { group.cancelAll() }
                        var received = 0
                        while let event = try await iterator.next() {
                            switch event {
                            case .frame(let frame):
                                received += 1
                                if received == 1 { say("Receiving the agent's frames.") }
                                saver?.save(frame, from: .agent)
                            case .control(.streamStart(let start)):
                                saver?.started(start, from: .agent)
                                if let line = describe(.streamStart(start)) { say(line) }
                            case .control(.chat(let chat)):
                                say("\(chat.supervisor.map { "supervisor \($0)" } ?? "agent"): \(chat.text)")
                            case .control(.sessionEnded(let ended)):
                                return ended
                            case .control(.sessionPresence(let presence)):
                                say("Present in this session: " + presence.present.map(\.summary).joined(separator: ", ") + ".")
                            case .control(.sessionTransferred(let notice)) where notice.state == .pending:
                                say(
                                    "\(notice.from) is handing you over to \(notice.toAgent ?? "a colleague in " + (notice.line ?? "another line")); please stay connected."
                                )
                            case .control(.sessionTransferred(let notice)):
                                say("You are now talking to \(notice.agent ?? "another agent").")
                            case .control(let message):
                                if let line = describe(message) { say(line) }
                            }
                        }
                        return nil
                    }
                }
            } catch {
                throw CLIFailure("cannot connect to the broker at \(configuration.serverURL): \(error)")
            }
        }
        var run = try await connect(configuration)
        // Too many wrong codes were tried lately (§3.1): the code was not checked. Try again
        // when told, not sooner (coming back early loses the place in line), for up to 10 minutes.
        var waited = 0
        while run.closure.tandemCode == .joinThrottled, let told = throttledFor.withLock({ $0 }), waited + max(told, 1) <= 600 {
            let wait = max(told, 1)
            say("Too many attempts were made on this service lately; trying again in \(wait) s.")
            try await Task.sleep(for: .seconds(wait))
            waited += wait
            throttledFor.withLock { $0 = nil }
            run = try await connect(configuration)
        }
        if run.closure.tandemCode == .otherBroker, let url = redirect.withLock({ $0 }) {
            say("This code belongs to another broker of the service; joining there (\(url)).")
            configuration.serverURL = url
            run = try await connect(configuration)
        }
        if let recorded = callbackRecorded.withLock({ $0 }) {
            say("Your callback request for ticket \(recorded.ticket) is recorded: you will be called back. You can close this window.")
            return
        }
        guard let ended = run.result ?? nil else { throw CLIFailure(explain(run.closure)) }
        say("Session ended (\(ended.reason.rawValue)). Thank you.")
        // The post-session survey (§5.16); not when standard input carried the control script.
        if let offer = ended.survey, !noSurvey, annotations != "-" {
            await Self.runSurvey(offer, configuration: configuration)
        }
    }
}
