import ArgumentParser
import Foundation

/// Load generator: paired sessions over TLS against a broker it starts as a child process,
/// one scenario per run (bench/README.md; `bash bench/table.sh` runs them all).
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the relay: paired sessions over TLS against a broker this command starts (see bench/README.md).",
        discussion: """
            Scenarios (--scenario):
              frames         N sessions × F fps × S-byte frames plus annotations: CPU, MB/s, latency (default; --lean: own load generator)
              flat-out       frames as fast as the sender's socket takes them: MB/s delivered, drops
              control        ~200-byte chat/pointer messages flat out (in-flight --window): messages/s, CPU µs per message
              control-paced  the same at --message-rate per session: broker CPU µs per message
              idle           N paired sessions left idle: broker memory per connection
              setup          N sessions set up, --concurrency at once: pairs per second
              stall          the receiver stops reading for --stall-seconds: sender blocked?, time to live frames, oldest frame
              rounds         --rounds of N sessions that connect, exchange a little and end: broker RSS per round
            Every scenario but frames (without --lean) uses the load generator in LoadGenerator*.swift.
            `tandem bench audit-log` builds a synthetic audit log instead (bench/audit.sh).
            """,
        subcommands: [BenchAuditLog.self]
    )

    @Option(help: "What to measure: frames, flat-out, control, control-paced, idle, setup, stall, rounds.")
    var scenario: BenchScenario = .frames

    @Option(
        name: [.customLong("sessions"), .customLong("pairs")],
        help: "Paired sessions (default: frames 4, flat-out 1, control 8, control-paced 64, idle 1000, setup 1000, stall 1, rounds 500 a round)."
    )
    var sessions: Int?

    @Option(help: "Frames per second per session, customer → agent (frames, stall).")
    var fps: Double = 30

    @Option(help: "Frame payload size in bytes (default: 200000; flat-out 65536; rounds 20000).")
    var size: Int?

    @Option(help: "Seconds of streaming or sending (frames, flat-out, control, control-paced).")
    var duration: Double = 10

    @Option(help: "Annotations per second per session, sent in the same direction as the frames (frames).")
    var annotationRate: Double = 5

    @Flag(help: "frames: drive the sessions with the bench's own load generator instead of TandemClient.")
    var lean = false

    @Option(help: "Control messages to send (control, control-paced): chat, pointer or mixed.")
    var message: ControlKind = .mixed

    @Option(help: "Control messages per session in flight at most (control).")
    var window: Int = 256

    @Option(help: "Control messages per second per session (control-paced).")
    var messageRate: Double = 40

    @Option(help: "Session setups in flight at once.")
    var concurrency: Int = 64

    @Option(help: "Seconds to wait before reading the broker's memory (idle, rounds).")
    var settle: Double = 3

    @Option(help: "Rounds (rounds).")
    var rounds: Int = 10

    @Option(
        help:
            "Seconds the receiver stops reading its socket (stall; --warmup + this at most 38: the broker pings every 20 s and closes after a missed pong)."
    )
    var stallSeconds: Double = 20

    @Option(help: "Seconds of streaming before the stall (stall).")
    var warmup: Double = 3

    @Option(help: "Seconds of streaming after the receiver resumes (stall).")
    var recovery: Double = 5

    @Option(help: "The stalled receiver's socket receive buffer in bytes (SO_RCVBUF), 0 for the kernel's autotuning (stall).")
    var receiveBuffer: Int = 0

    @Flag(help: "Print the results as JSON.")
    var json = false

    func validate() throws {
        let sessions = self.sessions ?? scenario.defaultSessions
        let maxSessions = scenario == .frames && !lean ? 500 : 5000
        guard (1...maxSessions).contains(sessions) else {
            throw ValidationError(
                "--sessions must be 1-\(maxSessions) with --scenario \(scenario.rawValue)\(scenario == .frames && !lean ? " (without --lean)" : "")"
            )
        }
        guard fps > 0, fps <= 240 else { throw ValidationError("--fps must be 0-240") }
        if let size, !(1...4_000_000).contains(size) { throw ValidationError("--size must be 1-4000000") }
        guard duration >= 1, duration <= 3600 else { throw ValidationError("--duration must be 1-3600 seconds") }
        guard annotationRate >= 0 else { throw ValidationError("--annotation-rate must not be negative") }
        guard (1...100_000).contains(window) else { throw ValidationError("--window must be 1-100000") }
        guard messageRate > 0, messageRate <= 10_000 else { throw ValidationError("--message-rate must be 0-10000") }
        guard (1...10_000).contains(concurrency) else { throw ValidationError("--concurrency must be 1-10000") }
        guard settle >= 0, settle <= 600 else { throw ValidationError("--settle must be 0-600 seconds") }
        guard (1...1000).contains(rounds) else { throw ValidationError("--rounds must be 1-1000") }
        // The broker pings every 20 s from the connection's start and closes a connection that
        // has not answered one by the next: the stall may cover the ping at 20 s, not the one at 40 s.
        guard stallSeconds >= 1, warmup >= 0.5, warmup + stallSeconds <= 38 else {
            throw ValidationError("--stall-seconds must be at least 1 and --warmup at least 0.5, together at most 38 seconds (the broker's pings)")
        }
        guard recovery >= 1, recovery <= 600 else { throw ValidationError("--recovery must be 1-600 seconds") }
        guard receiveBuffer == 0 || (4096...(64 << 20)).contains(receiveBuffer) else {
            throw ValidationError("--receive-buffer must be 0 (autotuning) or 4 KiB to 64 MiB")
        }
    }

    func run() async throws {
        if scenario == .frames, !lean {
            try await runFrames()
            return
        }
        let bench = try await BenchContext.start(raisedRates: scenario.raisesRates)
        defer { bench.broker.stop() }
        switch scenario {
        case .frames: try await runLeanFrames(bench)
        case .flatOut: try await runFlatOut(bench)
        case .control: try await runControl(bench, paced: false)
        case .controlPaced: try await runControl(bench, paced: true)
        case .idle: try await runIdle(bench)
        case .setup: try await runSetup(bench)
        case .stall: try await runStall(bench)
        case .rounds: try await runRounds(bench)
        }
    }

    /// Microseconds since the Unix epoch: the clock of the frame header's capture time.
    static func nowMicros() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UInt64(spec.tv_sec) * 1_000_000 + UInt64(spec.tv_nsec) / 1_000
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
