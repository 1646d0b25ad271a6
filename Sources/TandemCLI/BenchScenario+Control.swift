import NIOCore

/// `--scenario control` and `control-paced`: small control messages (``ControlKind``: ~200
/// bytes of chat or pointer annotation, encoded and framed once, the same frame sent every
/// time; NIO's WebSocket encoder masks each send) from each customer to its agent.
///
/// - `control`: flat out within an in-flight window of `--window` messages per session
///   (``ControlDriver``), with the broker's rate caps raised. Measured: messages/s delivered,
///   broker CPU, broker CPU µs per message.
/// - `control-paced`: `--message-rate` messages a second per session, under the default rate
///   cap (50/s), the sessions' ticks spread over one interval. Measured: broker CPU µs per
///   relayed message at an ordinary rate, where wake-ups, flushes and timers dominate.
///
/// Latency is each message's receive time minus its send time (same process, monotonic clock).
extension Bench {
    func runControl(_ bench: BenchContext, paced: Bool) async throws {
        let sessions = self.sessions ?? scenario.defaultSessions
        let opened = try await bench.openPairs(sessions, concurrency: concurrency, placement: .sameLoop, stream: message.needsStream)
        let pairs = opened.pairs
        defer { for pair in pairs { pair.close() } }
        let frames = message.frames
        let drivers = pairs.map { ControlDriver(pair: $0, messages: frames) }
        let (window, rate) = (self.window, messageRate)
        let cpuWindow = BenchCPUWindow(bench.broker)
        for (index, driver) in drivers.enumerated() {
            let delay = UInt64(Double(index) / Double(sessions) * 1e9 / rate)
            driver.pair.agent.eventLoop.execute {
                if paced {
                    driver.startPaced(rate: rate, delayNanos: delay)
                } else {
                    driver.startFlatOut(window: window)
                }
            }
        }
        try await Task.sleep(for: .seconds(duration))
        var sent = 0
        var received = 0
        for driver in drivers {
            let snapshot = try await driver.pair.agent.eventLoop.submit { driver.stop() }.get()
            sent += snapshot.sent
            received += snapshot.received
        }
        let cpu = cpuWindow.read()
        try await Task.sleep(for: .milliseconds(300))
        var latencies: [UInt64] = []
        for driver in drivers {
            latencies += try await driver.pair.agent.eventLoop.submit { driver.latencies }.get()
        }
        let report = ControlReport(
            scenario: scenario.rawValue,
            sessions: sessions,
            seconds: cpu.seconds,
            message: message.rawValue,
            messageBytes: message.messageBytes,
            window: paced ? nil : window,
            messageRatePerSession: paced ? rate : nil,
            messagesSent: sent,
            messagesReceived: received,
            messagesPerSecond: BenchMath.ratio(Double(received), cpu.seconds),
            brokerCPUPercent: cpu.brokerPercent,
            brokerCPUMicrosPerMessage: BenchMath.ratio(cpu.brokerCPUSeconds * 1e6, Double(received)),
            generatorCPUPercent: cpu.generatorPercent,
            generatorCPUMicrosPerMessage: BenchMath.ratio(cpu.generatorCPUSeconds * 1e6, Double(received)),
            brokerPeakRSSMegabytes: BenchMath.megabytes(bench.broker.peakRSS()),
            latencyMs: BenchResults.Percentiles(latencies)
        )
        try emit(report, text: report.text)
    }
}

struct ControlReport: Encodable {
    var scenario: String
    var sessions: Int
    var seconds: Double
    var message: String
    /// JSON bytes of each message sent (they are sent in turn).
    var messageBytes: [Int]
    var window: Int?
    var messageRatePerSession: Double?
    var messagesSent: Int
    /// Messages the agents received while the senders ran (the rate and the CPU per message
    /// use these).
    var messagesReceived: Int
    var messagesPerSecond: Double
    var brokerCPUPercent: Double
    var brokerCPUMicrosPerMessage: Double
    var generatorCPUPercent: Double
    var generatorCPUMicrosPerMessage: Double
    var brokerPeakRSSMegabytes: Double
    var latencyMs: BenchResults.Percentiles

    var text: String {
        let f = BenchMath.format
        let how = window.map { "flat out, at most \($0) in flight per session" } ?? "\(f(messageRatePerSession ?? 0, 0)) a second per session"
        return """
            tandem bench --scenario \(scenario): \(sessions) sessions, \(message) messages of \(messageBytes.map { String($0) }.joined(separator: "/")) bytes, \
            \(how), \(f(seconds, 1)) s over TLS (one host, loopback)
              delivered: \(f(messagesPerSecond, 0)) messages/s (\(messagesReceived) received, \(messagesSent) sent)
              broker:    \(f(brokerCPUPercent, 0)) % CPU (of one core), \(f(brokerCPUMicrosPerMessage, 1)) µs per message, \
            peak RSS \(f(brokerPeakRSSMegabytes, 1)) MB
              load generator: \(f(generatorCPUPercent, 0)) % CPU, \(f(generatorCPUMicrosPerMessage, 1)) µs per message (sending and receiving)
              latency:   \(latencyMs.line)
            """
    }
}
