import ArgumentParser
import Foundation
import Histogram
import Logging
import NIOConcurrencyHelpers
import NIOCore
import TandemClient
import TandemCore
import TandemProtocol
import TandemSQLite

/// Load generator: N paired sessions over TLS against a broker it starts as a child process.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the relay: N paired sessions at F fps with S-byte frames over TLS (starts its own broker)."
    )
    @Option(help: "Paired sessions.") var sessions: Int = 4
    @Option(help: "Frames per second per session (customer → agent).") var fps: Double = 30
    @Option(help: "Frame payload size in bytes.") var size: Int = 200_000
    @Option(help: "Seconds of streaming.") var duration: Double = 10
    @Option(help: "Annotations per second per session, sent in the same direction as the frames.") var annotationRate: Double = 5
    @Flag(help: "Print the results as JSON.") var json = false

    func validate() throws {
        guard (1...500).contains(sessions) else { throw ValidationError("--sessions must be 1-500") }
        guard fps > 0, fps <= 240 else { throw ValidationError("--fps must be 0-240") }
        guard (1...4_000_000).contains(size) else { throw ValidationError("--size must be 1-4000000") }
        guard duration >= 1, duration <= 3600 else { throw ValidationError("--duration must be 1-3600 seconds") }
    }

    func run() async throws {
        let broker = try await BenchBroker.start()
        defer { broker.stop() }
        let configuration = TandemClientConfiguration(serverURL: "https://127.0.0.1:\(broker.port)", caFile: broker.directory + "/certs/ca.pem")
        let logger = Logger(label: "tandem.bench") { _ in SwiftLogNoOpLogHandler() }
        let results = NIOLockedValueBox(BenchResults())
        let cpuBefore = broker.cpuTicks()
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<sessions {
                group.addTask {
                    try await runSession(index: index, token: broker.agentToken, configuration: configuration, logger: logger, results: results)
                }
            }
            try await group.waitForAll()
        }
        let elapsed = (ContinuousClock.now - started).seconds
        let cpuSeconds = Double(broker.cpuTicks() - cpuBefore) / Double(sysconf(Int32(_SC_CLK_TCK)))
        let report = results.withLockedValue { $0.report(elapsed: duration, wall: elapsed, cpuSeconds: cpuSeconds, peakRSS: broker.peakRSS(), bench: self) }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            // The tool's own report, no peer text: written as is (say escapes line breaks).
            try? FileHandle.standardOutput.write(contentsOf: try encoder.encode(report) + Data("\n".utf8))
        } else {
            for line in report.text.split(separator: "\n", omittingEmptySubsequences: false) { say(String(line)) }
        }
    }

    func runSession(index: Int, token: String, configuration: TandemClientConfiguration, logger: Logger, results: NIOLockedValueBox<BenchResults>) async throws {
        let (codes, codeSink) = AsyncStream<String>.makeStream()
        let (fps, size, duration, annotationRate) = (self.fps, self.size, self.duration, self.annotationRate)
        async let agent = TandemConnection.run(
            configuration: configuration,
            hello: .agent(token: token, start: .init(ticket: "BENCH-\(index)", mode: .camera)),
            logger: logger
        ) { inbound, _ -> Void in
            var events = inbound.makeAsyncIterator()
            var frameLatencies: [UInt64] = []
            var annotationLatencies: [UInt64] = []
            var bytes = 0
            while let event = try await events.next() {
                let now = Bench.nowMicros()
                switch event {
                case .control(.sessionCreated(let created)): codeSink.yield(created.joinCode)
                case .frame(let frame):
                    frameLatencies.append(now &- frame.header.timestampMicros)
                    bytes += MediaFrameHeader.size + frame.payload.readableBytes
                case .control(.annotation(let annotation)):
                    if let sent = annotation.shape.flatMap({ UInt64($0.id.dropFirst()) }) { annotationLatencies.append(now &- sent) }
                case .control(.sessionEnded): break
                default: continue
                }
            }
            results.withLockedValue { $0.add(frames: frameLatencies, annotations: annotationLatencies, bytes: bytes) }
        }
        var iterator = codes.makeAsyncIterator()
        guard let code = await iterator.next() else { throw CLIFailure("session \(index) got no join code") }
        _ = try await TandemConnection.run(configuration: configuration, hello: .customer(code: code), logger: logger) { inbound, outbound in
            var events = inbound.makeAsyncIterator()
            _ = try await events.next()
            try await outbound.send(.consent(Consent(granted: true)))
            try await outbound.send(.streamStart(StreamStart(streamID: 1, source: .camera, codec: .jpeg, width: 1280, height: 720, fps: fps)))
            let payload = ByteBuffer(repeating: 0x42, count: size)
            let clock = ContinuousClock()
            let start = clock.now
            let total = Int(duration * fps)
            let annotationEvery = annotationRate > 0 ? max(1, Int(fps / annotationRate)) : Int.max
            for sequence in 0..<total {
                try await clock.sleep(until: start.advanced(by: .seconds(Double(sequence) / fps)))
                let frame = MediaFrame(streamID: 1, sequence: UInt32(sequence), codec: .jpeg, keyframe: true, timestampMicros: Bench.nowMicros(), payload: payload)
                try await outbound.send(frame)
                if sequence % annotationEvery == 0 {
                    let shape = Shape(id: "t\(Bench.nowMicros())", kind: .pointer, points: [[0.5, 0.5]])
                    try await outbound.send(.annotation(.add(shape, owner: .customer, streamID: 1)))
                }
            }
            results.withLockedValue { $0.sent += total }
            // Let the last frames reach the agent before the session ends.
            try await Task.sleep(for: .milliseconds(500))
            try await outbound.send(.sessionEnd(SessionEnd()))
            while try await events.next() != nil {}
        }
        _ = try await agent
    }

    static func nowMicros() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UInt64(spec.tv_sec) * 1_000_000 + UInt64(spec.tv_nsec) / 1_000
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
