import NIOCore
import TandemProtocol

/// The scenarios about sessions rather than traffic: `idle` (memory per connection), `setup`
/// (pairs per second) and `rounds` (memory given back after sessions end).
extension Bench {
    /// `--scenario idle`: the broker's resident memory before any connection, then with N
    /// paired sessions (2N TLS WebSockets) idle for `--settle` seconds; memory per connection
    /// = (RSS idle − RSS before) / 2N.
    func runIdle(_ bench: BenchContext) async throws {
        let sessions = self.sessions ?? scenario.defaultSessions
        // Let the broker finish starting (its first checkpoint, the store) before the baseline.
        try await Task.sleep(for: .seconds(1))
        let before = bench.broker.rss()
        let socketsBefore = bench.broker.openSockets()
        let started = ContinuousClock.now
        let opened = try await bench.openPairs(sessions, concurrency: concurrency, placement: .split, stream: false)
        defer { for pair in opened.pairs { pair.close() } }
        let setupSeconds = (ContinuousClock.now - started).seconds
        let window = BenchCPUWindow(bench.broker)
        try await Task.sleep(for: .seconds(settle))
        let cpu = window.read()
        let idle = bench.broker.rss()
        let connections = 2 * sessions
        let report = IdleReport(
            sessions: sessions,
            connections: connections,
            rssBeforeMegabytes: BenchMath.megabytes(before),
            rssIdleMegabytes: BenchMath.megabytes(idle),
            kibPerConnection: Double(idle - before) / 1024 / Double(connections),
            brokerSocketsBefore: socketsBefore,
            brokerSocketsIdle: bench.broker.openSockets(),
            setupSeconds: setupSeconds,
            settleSeconds: settle,
            brokerIdleCPUPercent: cpu.brokerPercent,
            brokerPeakRSSMegabytes: BenchMath.megabytes(bench.broker.peakRSS())
        )
        try emit(report, text: report.text)
    }

    /// `--scenario setup`: N sessions opened, `--concurrency` at a time, each the agent's
    /// connect + hello → `session.created`, then the customer's connect + hello →
    /// `session.joined` and the agent's `peer.joined`. Pairs per second = N / wall time.
    func runSetup(_ bench: BenchContext) async throws {
        let sessions = self.sessions ?? scenario.defaultSessions
        let window = BenchCPUWindow(bench.broker)
        let opened = try await bench.openPairs(sessions, concurrency: concurrency, placement: .split, stream: false)
        let cpu = window.read()
        defer { for pair in opened.pairs { pair.close() } }
        let report = SetupReport(
            sessions: sessions,
            concurrency: concurrency,
            seconds: cpu.seconds,
            pairsPerSecond: BenchMath.ratio(Double(sessions), cpu.seconds),
            setupLatencyMs: BenchResults.Percentiles(opened.setupMicros),
            brokerCPUPercent: cpu.brokerPercent,
            brokerCPUMillisPerPair: BenchMath.ratio(cpu.brokerCPUSeconds * 1000, Double(sessions)),
            generatorCPUPercent: cpu.generatorPercent
        )
        try emit(report, text: report.text)
    }

    /// `--scenario rounds`: `--rounds` times, N sessions open (with a stream), exchange a
    /// little (3 frames and a chat line from the customer, a chat line back), and end
    /// (`session.end`, the broker closes both connections). With no connection left, after
    /// `--settle` seconds, the broker's VmRSS is read.
    func runRounds(_ bench: BenchContext) async throws {
        let sessions = self.sessions ?? scenario.defaultSessions
        let frames = LoadMediaFrames(size: size ?? scenario.defaultSize)
        try await Task.sleep(for: .seconds(1))
        let before = bench.broker.rss()
        var results: [RoundsReport.Round] = []
        for round in 0..<rounds {
            let started = ContinuousClock.now
            let opened = try await bench.openPairs(
                sessions,
                concurrency: concurrency,
                placement: .split,
                stream: true,
                firstIndex: round * sessions
            )
            try await exchange(opened.pairs, frames: frames)
            await bench.end(opened.pairs, concurrency: concurrency)
            let seconds = (ContinuousClock.now - started).seconds
            try await Task.sleep(for: .seconds(settle))
            let entry = RoundsReport.Round(
                round: round + 1,
                seconds: seconds,
                rssMegabytes: BenchMath.megabytes(bench.broker.rss()),
                brokerSockets: bench.broker.openSockets()
            )
            results.append(entry)
            if !json {
                say(
                    "  round \(entry.round): \(BenchMath.format(entry.rssMegabytes, 1)) MB RSS, \(entry.brokerSockets) broker sockets (\(BenchMath.format(entry.seconds, 1)) s)"
                )
            }
        }
        let growth = (results.last?.rssMegabytes ?? 0) - (results.first?.rssMegabytes ?? 0)
        let report = RoundsReport(
            sessionsPerRound: sessions,
            settleSeconds: settle,
            rssBeforeMegabytes: BenchMath.megabytes(before),
            rounds: results,
            growthMegabytes: growth,
            withinGoal: growth <= 20,
            brokerPeakRSSMegabytes: BenchMath.megabytes(bench.broker.peakRSS())
        )
        try emit(report, text: report.text)
    }

    /// Each pair: the customer sends 3 frames and a chat line, the agent a chat line back;
    /// both wait for the other's line.
    private func exchange(_ pairs: [LoadPair], frames: LoadMediaFrames) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for pair in pairs {
                group.addTask {
                    let customer = pair.customer
                    customer.eventLoop.execute {
                        for sequence in 0..<3 { frames.write(sequence: UInt32(sequence), on: customer) }
                    }
                    customer.send(.chat(Chat(text: "Here is the router, session \(pair.index).")))
                    pair.agent.send(.chat(Chat(text: "Thanks, I can see it.")))
                    _ = try await pair.agent.waitFor("the customer's chat") { message -> Bool? in
                        guard case .chat = message else { return nil }
                        return true
                    }
                    _ = try await customer.waitFor("the agent's chat") { message -> Bool? in
                        guard case .chat = message else { return nil }
                        return true
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}

struct IdleReport: Encodable {
    var scenario = "idle"
    var sessions: Int
    var connections: Int
    var rssBeforeMegabytes: Double
    var rssIdleMegabytes: Double
    /// (RSS idle − RSS before) / connections, KiB.
    var kibPerConnection: Double
    var brokerSocketsBefore: Int
    var brokerSocketsIdle: Int
    var setupSeconds: Double
    var settleSeconds: Double
    /// The broker's CPU over the settle period (pings, timers), % of one core.
    var brokerIdleCPUPercent: Double
    var brokerPeakRSSMegabytes: Double

    var text: String {
        let f = BenchMath.format
        return """
            tandem bench --scenario idle: \(sessions) paired sessions (\(connections) TLS WebSockets), idle for \(f(settleSeconds, 0)) s
              broker RSS:  \(f(rssBeforeMegabytes, 1)) MB before, \(f(rssIdleMegabytes, 1)) MB idle: \(f(kibPerConnection, 1)) KiB per connection
              broker:      \(brokerSocketsIdle) sockets open (\(brokerSocketsBefore) before), \(f(brokerIdleCPUPercent, 1)) % CPU while idle, \
            peak RSS \(f(brokerPeakRSSMegabytes, 1)) MB; setup took \(f(setupSeconds, 1)) s
            """
    }
}

struct SetupReport: Encodable {
    var scenario = "setup"
    var sessions: Int
    var concurrency: Int
    var seconds: Double
    var pairsPerSecond: Double
    var setupLatencyMs: BenchResults.Percentiles
    var brokerCPUPercent: Double
    var brokerCPUMillisPerPair: Double
    var generatorCPUPercent: Double

    var text: String {
        let f = BenchMath.format
        return """
            tandem bench --scenario setup: \(sessions) sessions, \(concurrency) set up at once, over TLS (one host, loopback)
              rate:    \(f(pairsPerSecond, 0)) pairs/s (\(f(seconds, 2)) s in all)
              one pair (agent connect → session.created → customer connect → session.joined, peer.joined): \(setupLatencyMs.line)
              broker:  \(f(brokerCPUPercent, 0)) % CPU, \(f(brokerCPUMillisPerPair, 2)) ms per pair; load generator \(f(generatorCPUPercent, 0)) % CPU
            """
    }
}

struct RoundsReport: Encodable {
    struct Round: Encodable {
        var round: Int
        /// Open, exchange and end, seconds.
        var seconds: Double
        /// VmRSS with no connection left, after the settle time.
        var rssMegabytes: Double
        var brokerSockets: Int
    }

    var scenario = "rounds"
    var sessionsPerRound: Int
    var settleSeconds: Double
    var rssBeforeMegabytes: Double
    var rounds: [Round]
    /// Last round's RSS − first round's.
    var growthMegabytes: Double
    /// Issue 14's goal: the last round within 20 MB of the first.
    var withinGoal: Bool
    var brokerPeakRSSMegabytes: Double

    var text: String {
        let f = BenchMath.format
        let list = rounds.map { f($0.rssMegabytes, 1) }.joined(separator: ", ")
        return """
            tandem bench --scenario rounds: \(rounds.count) rounds of \(sessionsPerRound) sessions (open, exchange a little, end), RSS read \(f(settleSeconds, 0)) s after each
              broker RSS: \(f(rssBeforeMegabytes, 1)) MB before; after each round: \(list) MB
              last − first: \(f(growthMegabytes, 1)) MB (goal ≤ 20 MB: \(withinGoal ? "met" : "NOT met")); peak RSS \(f(brokerPeakRSSMegabytes, 1)) MB
            """
    }
}
