import ArgumentParser
import Foundation
import TandemClient
import TandemProtocol
import UnixSignals

/// An agent attached to its session until it ends: `tandem session start` and `tandem queue take`.
struct AttachedAgent: ParsableArguments {
    @Option(help: "Outcome to record when the session ends (otherwise asked on Ctrl-C).") var outcome: SessionOutcome?
    @Option(help: "Note for the log.") var note: String?
    @Option(help: "Share your own frames back: 'pattern', a folder of images, or a VP8/VP9/AV1 .ivf file.") var source: String?
    @Option(help: "Frames per second when sharing with --source.") var fps: Double = 5
    @Option(help: "Save received frames to this folder.") var saveFrames: String?
    @Option(
        help:
            "Send control messages (annotations, freeze, chat) from a JSON-lines file, or - for standard input, once the customer joined and started sharing (or 5 s after the join)."
    ) var annotations: String?

    /// Connects with `hello`, shows what happens, and records the outcome when the session ends.
    /// Returns normally when the session ended or was handed over (§17).
    func run(hello: Hello, token: String, connection: ConnectionOptions) async throws {
        let frames = try source.map(FrameSource.init)
        var configuration = connection.clientConfiguration
        let saver = try saveFrames.map(FrameSaver.init(directory:))
        let script = annotations.map(ControlScript.init(source:))
        let status = AgentStatus(saver: saver)
        let (outcome, note, fps) = (self.outcome, self.note, self.fps)
        var run: (result: SessionEnded??, closure: TandemClosure)
        // With several brokers (§20.7) the next customer may wait on another one: go there once.
        var redirected = false
        repeat {
            do {
                run = try await TandemConnection.run(
                    configuration: configuration,
                    hello: hello.acceptingEveryCodec,
                    logger: CLILog.logger("tandem.cli")
                ) {
                    inbound,
                    outbound -> SessionEnded? in
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
                                // Annotations need a started stream (§5.10): give the customer's a moment to arrive.
                                await status.waitForCustomerStream(atMost: .seconds(5))
                                try await script.runThenStay(on: outbound)
                            }
                        }
                        if let frames {
                            group.addTask {
                                await status.waitForCustomer()
                                let start = frames.streamStart(source: .screen, fps: fps)
                                if !status.customerDecodes(start.codec) {
                                    say("Note: the customer's client does not decode \(start.codec.name); it will not show this stream.")
                                }
                                try await outbound.send(.streamStart(start))
                                var index = 0
                                while true {
                                    try await outbound.send(frames.frame(index))
                                    status.sent(frames: 1)
                                    index += 1
                                    try await Task.sleep(for: .seconds(1 / start.fps))
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
                throw CLIFailure("cannot connect to the broker at \(configuration.serverURL): \(error)")
            }
            // The token goes along: only to a broker reached the same way (https, unless this one was plain).
            if run.closure.tandemCode == .otherBroker, !redirected, let url = status.redirect,
                url.hasPrefix("https://") || configuration.serverURL.hasPrefix("http://")
            {
                say("[\(Formatting.clock())] going to \(url), where the customer waits")
                configuration.serverURL = url
                redirected = true
                continue
            }
            break
        } while true
        guard let ended = run.result ?? nil else {
            if run.closure.tandemCode == .handedOver {
                say("[\(Formatting.clock())] \(explain(run.closure))")
                return
            }
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
