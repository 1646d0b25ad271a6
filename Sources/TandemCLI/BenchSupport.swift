import Foundation
import Histogram
import Logging
import TandemCore
import TandemSQLite

/// A broker started by `tandem bench` as a child process, in a temporary data directory.
struct BenchBroker: Sendable {
    let process: Process
    let port: Int
    let directory: String
    let agentToken: String

    /// Starts `tandem serve` (this very binary) with the bench's caps, plus `extraArguments`
    /// (later options win: ArgumentParser keeps the last value of a repeated option).
    static func start(extraArguments: [String] = []) async throws -> BenchBroker {
        let directory = NSTemporaryDirectory() + "tandem-bench-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: directory + "/tandem.sqlite", logger: Logger(label: "tandem.bench") { _ in SwiftLogNoOpLogHandler() })
        let token = APIToken.generate()
        _ = try await store.addUser(UserRecord(name: "bench", role: .agent, tokenHash: APIToken.hash(token), createdAt: Date()))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0])
        // Every client runs from 127.0.0.1: one network, far beyond the per-network caps a
        // real broker keeps for anonymous clients (§13). The relay itself is what is measured.
        process.arguments =
            [
                "serve", "--port", "0", "--data-dir", directory, "--log-level", "error",
                "--websockets-per-network", "100000", "--agent-websockets-per-network", "100000",
                "--http-connections-per-network", "100000", "--max-pending-codes", "100000",
                "--join-budget", "100000", "--join-failures-before-wait", "100000",
                // Thousands of connections set up at once (idle, setup, rounds) may wait for the
                // CPU longer than a real client would; nothing here measures these timeouts.
                "--hello-timeout", "120", "--first-request-timeout", "120", "--idle-timeout", "86400",
                "--shutdown-timeout", "5",
            ] + extraArguments
        let output = Pipe()
        process.standardOutput = output
        // TANDEM_BENCH_BROKER_PREFIX runs the broker under a tool, e.g. "heaptrack -o /tmp/heap"
        // or "valgrind --tool=callgrind" (its CPU and memory figures are then the tool's).
        if let prefix = ProcessInfo.processInfo.environment["TANDEM_BENCH_BROKER_PREFIX"]?.split(separator: " ").map(String.init),
            let tool = prefix.first
        {
            let path = ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":").map { "\($0)/\(tool)" }
            process.arguments = prefix.dropFirst() + [ProcessInfo.processInfo.arguments[0]] + (process.arguments ?? [])
            process.executableURL = URL(fileURLWithPath: path?.first { FileManager.default.isExecutableFile(atPath: $0) } ?? tool)
        }
        try process.run()
        var port: Int?
        var buffer = ""
        while port == nil {
            let data = output.fileHandleForReading.availableData
            guard !data.isEmpty else { throw CLIFailure("the bench broker exited before listening") }
            buffer += String(decoding: data, as: UTF8.self)
            if let range = buffer.range(of: #"listening on https://[^ ]*:(\d+)"#, options: .regularExpression) {
                port = Int(buffer[range].split(separator: ":").last ?? "")
            }
        }
        return BenchBroker(process: process, port: port!, directory: directory, agentToken: token)
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// User + system CPU time of the broker, in clock ticks.
    func cpuTicks() -> Int {
        Self.cpuTicks(pid: process.processIdentifier)
    }

    /// User + system CPU time of process `pid` (this one: `getpid()`), in clock ticks.
    static func cpuTicks(pid: Int32) -> Int {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state is field 3; utime and stime are fields 14 and 15.
        guard fields.count > 12 else { return 0 }
        return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
    }

    /// Clock ticks per second (`/proc/PID/stat` counts CPU time in them).
    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// The broker's peak resident set size in bytes.
    func peakRSS() -> Int {
        statusField("VmHWM:")
    }

    /// The broker's resident set size now, in bytes.
    func rss() -> Int {
        statusField("VmRSS:")
    }

    /// A `kB` line of `/proc/PID/status`, in bytes (0 when unreadable).
    private func statusField(_ name: String) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name) })
        else { return 0 }
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    /// Sockets the broker holds open (listening ones included), from `/proc/PID/fd`.
    func openSockets() -> Int {
        let directory = "/proc/\(process.processIdentifier)/fd"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return 0 }
        return entries.filter { entry in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: directory + "/" + entry))?.hasPrefix("socket:") == true
        }.count
    }
}

/// CPU time of the broker and of the load generator (this process) over a stretch of wall time.
struct BenchCPUWindow: Sendable {
    let broker: BenchBroker
    let brokerTicks: Int
    let generatorTicks: Int
    let started: ContinuousClock.Instant

    init(_ broker: BenchBroker) {
        self.broker = broker
        self.brokerTicks = broker.cpuTicks()
        self.generatorTicks = BenchBroker.cpuTicks(pid: getpid())
        self.started = ContinuousClock.now
    }

    struct Reading: Sendable {
        /// Wall seconds since the window opened.
        var seconds: Double
        var brokerCPUSeconds: Double
        var generatorCPUSeconds: Double
        /// Percent of one core.
        var brokerPercent: Double { seconds > 0 ? brokerCPUSeconds / seconds * 100 : 0 }
        var generatorPercent: Double { seconds > 0 ? generatorCPUSeconds / seconds * 100 : 0 }
    }

    func read() -> Reading {
        Reading(
            seconds: (ContinuousClock.now - started).seconds,
            brokerCPUSeconds: Double(broker.cpuTicks() - brokerTicks) / BenchBroker.ticksPerSecond,
            generatorCPUSeconds: Double(BenchBroker.cpuTicks(pid: getpid()) - generatorTicks) / BenchBroker.ticksPerSecond
        )
    }
}

/// Latencies and counts collected by the bench clients.
struct BenchResults: Sendable {
    var frameLatencies: [UInt64] = []
    var annotationLatencies: [UInt64] = []
    var bytes = 0
    var sent = 0

    mutating func add(frames: [UInt64], annotations: [UInt64], bytes: Int) {
        frameLatencies += frames
        annotationLatencies += annotations
        self.bytes += bytes
    }

    struct Percentiles: Codable {
        var count: Int
        var p50: Double
        var p90: Double
        var p99: Double
        var p999: Double
        var max: Double

        init(_ values: [UInt64]) {
            var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
            for value in values { _ = histogram.record(Swift.min(value, 60_000_000)) }
            count = values.count
            p50 = Double(histogram.valueAtPercentile(50)) / 1000
            p90 = Double(histogram.valueAtPercentile(90)) / 1000
            p99 = Double(histogram.valueAtPercentile(99)) / 1000
            p999 = Double(histogram.valueAtPercentile(99.9)) / 1000
            max = Double(histogram.max) / 1000
        }

        var line: String {
            String(format: "p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms (%d samples)", p50, p90, p99, p999, max, count)
        }
    }

    struct Report: Codable {
        var sessions: Int
        var fps: Double
        var frameBytes: Int
        var seconds: Double
        var framesSent: Int
        var framesReceived: Int
        var relayedMegabytesPerSecond: Double
        var framesPerSecond: Double
        var brokerCPUPercent: Double
        var brokerPeakRSSMegabytes: Double
        var frameLatencyMs: Percentiles
        var annotationLatencyMs: Percentiles
        /// `lean` (``LoadSocket``) or absent (TandemClient).
        var loadGenerator: String?
        /// The load generator's own CPU, % of one core (lean only).
        var generatorCPUPercent: Double?
        /// Frames the lean sender skipped because its socket took no more (a capture loop
        /// drops those frames; TandemClient's sender waits instead).
        var framesSkipped: Int?

        var text: String {
            var text = """
                tandem bench: \(sessions) sessions × \(fps) fps × \(frameBytes) bytes for \(seconds) s over TLS (one host, loopback)
                  frames:        \(framesReceived) of \(framesSent) delivered, \(String(format: "%.1f", framesPerSecond)) frames/s
                  relayed:       \(String(format: "%.1f", relayedMegabytesPerSecond)) MB/s
                  broker:        \(String(format: "%.0f", brokerCPUPercent)) % CPU (of one core), peak RSS \(String(format: "%.1f", brokerPeakRSSMegabytes)) MB
                  frame latency: \(frameLatencyMs.line)
                  annotation latency (while frames flow the same way): \(annotationLatencyMs.line)
                """
            if let generatorCPUPercent {
                text +=
                    "\n  load generator (lean): \(String(format: "%.0f", generatorCPUPercent)) % CPU, \(framesSkipped ?? 0) frames skipped (socket full)"
            }
            return text
        }
    }

    func report(elapsed: Double, wall: Double, cpuSeconds: Double, peakRSS: Int, sessions: Int, fps: Double, frameBytes: Int) -> Report {
        Report(
            sessions: sessions,
            fps: fps,
            frameBytes: frameBytes,
            seconds: elapsed,
            framesSent: sent,
            framesReceived: frameLatencies.count,
            relayedMegabytesPerSecond: Double(bytes) / elapsed / 1_000_000,
            framesPerSecond: Double(frameLatencies.count) / elapsed,
            brokerCPUPercent: cpuSeconds / wall * 100,
            brokerPeakRSSMegabytes: Double(peakRSS) / 1_000_000,
            frameLatencyMs: Percentiles(frameLatencies),
            annotationLatencyMs: Percentiles(annotationLatencies)
        )
    }
}
