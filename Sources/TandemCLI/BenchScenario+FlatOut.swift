import NIOCore

/// `--scenario flat-out`: each customer sends S-byte frames as fast as its socket takes
/// them (``FlatOutSender``: write while NIO reports the channel writable, then wait for the
/// writability change — a sender that awaits each write), each agent reads as fast as it
/// can on another event loop. The broker's rate caps are raised. Measured: MB/s delivered to
/// the agents (media header + payload), frames dropped by the broker (sent − received, after
/// half a second to drain), the broker's CPU per GB delivered.
extension Bench {
    func runFlatOut(_ bench: BenchContext) async throws {
        let sessions = self.sessions ?? scenario.defaultSessions
        let size = self.size ?? scenario.defaultSize
        let opened = try await bench.openPairs(sessions, concurrency: concurrency, placement: .split, stream: true)
        let pairs = opened.pairs
        defer { for pair in pairs { pair.close() } }
        let frames = LoadMediaFrames(size: size)
        let senders = pairs.map { FlatOutSender(socket: $0.customer, frames: frames) }
        let counters = pairs.map { _ in FrameCounter() }
        for (pair, counter) in zip(pairs, counters) {
            try await pair.agent.eventLoop.submit { counter.attach(to: pair.agent) }.get()
        }
        let window = BenchCPUWindow(bench.broker)
        for sender in senders {
            sender.socket.eventLoop.execute { sender.start() }
        }
        try await Task.sleep(for: .seconds(duration))
        var sent = 0
        for sender in senders {
            sent += try await sender.socket.eventLoop.submit { sender.stop() }.get()
        }
        let cpu = window.read()
        var bytesInWindow = 0
        for (pair, counter) in zip(pairs, counters) {
            bytesInWindow += try await pair.agent.eventLoop.submit { counter.bytes }.get()
        }
        try await Task.sleep(for: .milliseconds(500))
        var received = 0
        var latencies: [UInt64] = []
        for (pair, counter) in zip(pairs, counters) {
            let (frameCount, frameLatencies) = try await pair.agent.eventLoop.submit { (counter.frames, counter.latencies) }.get()
            received += frameCount
            latencies += frameLatencies
        }
        let report = FlatOutReport(
            sessions: sessions,
            frameBytes: size,
            seconds: cpu.seconds,
            framesSent: sent,
            framesReceived: received,
            framesDropped: max(0, sent - received),
            dropPercent: BenchMath.ratio(Double(max(0, sent - received)) * 100, Double(sent)),
            deliveredMegabytesPerSecond: BenchMath.ratio(BenchMath.megabytes(bytesInWindow), cpu.seconds),
            sentMegabytesPerSecond: BenchMath.ratio(BenchMath.megabytes(sent * frames.messageLength), cpu.seconds),
            brokerCPUPercent: cpu.brokerPercent,
            brokerCPUSecondsPerGB: BenchMath.ratio(cpu.brokerCPUSeconds, Double(bytesInWindow) / 1e9),
            generatorCPUPercent: cpu.generatorPercent,
            brokerPeakRSSMegabytes: BenchMath.megabytes(bench.broker.peakRSS()),
            frameLatencyMs: BenchResults.Percentiles(latencies)
        )
        try emit(report, text: report.text)
    }
}

struct FlatOutReport: Encodable {
    var scenario = "flat-out"
    var sessions: Int
    var frameBytes: Int
    var seconds: Double
    var framesSent: Int
    var framesReceived: Int
    var framesDropped: Int
    var dropPercent: Double
    /// Bytes of binary messages (media header + payload) the agents received while the
    /// senders ran, per second, in MB (10⁶ bytes).
    var deliveredMegabytesPerSecond: Double
    var sentMegabytesPerSecond: Double
    var brokerCPUPercent: Double
    var brokerCPUSecondsPerGB: Double
    var generatorCPUPercent: Double
    var brokerPeakRSSMegabytes: Double
    var frameLatencyMs: BenchResults.Percentiles

    var text: String {
        let f = BenchMath.format
        return """
            tandem bench --scenario flat-out: \(sessions) session\(sessions == 1 ? "" : "s"), \(frameBytes)-byte frames as fast as the socket takes them, \
            \(f(seconds, 1)) s over TLS (one host, loopback)
              delivered: \(f(deliveredMegabytesPerSecond, 1)) MB/s (sent \(f(sentMegabytesPerSecond, 1)) MB/s); \
            \(framesReceived) of \(framesSent) frames, \(framesDropped) dropped (\(f(dropPercent, 1)) %)
              broker:    \(f(brokerCPUPercent, 0)) % CPU (of one core), \(f(brokerCPUSecondsPerGB, 2)) CPU-s per GB delivered, \
            peak RSS \(f(brokerPeakRSSMegabytes, 1)) MB
              load generator: \(f(generatorCPUPercent, 0)) % CPU
              frame latency: \(frameLatencyMs.line)
            """
    }
}
