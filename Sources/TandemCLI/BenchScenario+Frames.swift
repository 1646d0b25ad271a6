import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOWebSocket
import TandemClient
import TandemProtocol

/// `--scenario frames`: N sessions, each customer publishing one stream at F fps with S-byte
/// frames and R pointer annotations a second, each agent receiving. Without `--lean` the
/// sessions are TandemClient connections (the library the CLI uses, one task per direction);
/// with `--lean`, the bench's own load generator, which costs far less CPU per frame and so
/// takes less of the two cores from the broker it measures.
extension Bench {
    func runFrames() async throws {
        let sessions = self.sessions ?? scenario.defaultSessions
        let size = self.size ?? scenario.defaultSize
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
                    try await runSession(
                        index: index,
                        size: size,
                        token: broker.agentToken,
                        configuration: configuration,
                        logger: logger,
                        results: results
                    )
                }
            }
            try await group.waitForAll()
        }
        let elapsed = (ContinuousClock.now - started).seconds
        let cpuSeconds = Double(broker.cpuTicks() - cpuBefore) / BenchBroker.ticksPerSecond
        let report = results.withLockedValue {
            $0.report(
                elapsed: duration,
                wall: elapsed,
                cpuSeconds: cpuSeconds,
                peakRSS: broker.peakRSS(),
                sessions: sessions,
                fps: fps,
                frameBytes: size
            )
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            // The tool's own report, no peer text: written as is (say escapes line breaks).
            try? FileHandle.standardOutput.write(contentsOf: try encoder.encode(report) + Data("\n".utf8))
        } else {
            for line in report.text.split(separator: "\n", omittingEmptySubsequences: false) { say(String(line)) }
        }
    }

    func runSession(
        index: Int,
        size: Int,
        token: String,
        configuration: TandemClientConfiguration,
        logger: Logger,
        results: NIOLockedValueBox<BenchResults>
    ) async throws {
        let (codes, codeSink) = AsyncStream<String>.makeStream()
        let (fps, duration, annotationRate) = (self.fps, self.duration, self.annotationRate)
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
                let frame = MediaFrame(
                    streamID: 1,
                    sequence: UInt32(sequence),
                    codec: .jpeg,
                    keyframe: true,
                    timestampMicros: Bench.nowMicros(),
                    payload: payload
                )
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

    /// `--scenario frames --lean`: the same load through ``LoadSocket``s. Senders tick at
    /// absolute times, spread over one frame interval; a tick whose socket takes no more sends
    /// nothing (`framesSkipped`). Annotations are one pre-encoded pointer; their latency is
    /// taken from a FIFO of send times (control messages arrive in order and are never dropped).
    func runLeanFrames(_ bench: BenchContext) async throws {
        let sessions = self.sessions ?? scenario.defaultSessions
        let size = self.size ?? scenario.defaultSize
        let opened = try await bench.openPairs(sessions, concurrency: concurrency, placement: .sameLoop, stream: true)
        defer { for pair in opened.pairs { pair.close() } }
        let frames = LoadMediaFrames(size: size)
        let shape = Shape(id: "bench-pointer", kind: .pointer, points: [[0.5, 0.5]])
        let annotation = LoadFrame.text(.annotation(.add(shape, owner: .customer, streamID: LoadPair.stream.streamID)))
        let annotationEvery = annotationRate > 0 ? max(1, Int(fps / annotationRate)) : 0
        let drivers = opened.pairs.map {
            LeanFramesDriver(pair: $0, frames: frames, fps: fps, annotation: annotation, annotationEvery: annotationEvery)
        }
        let window = BenchCPUWindow(bench.broker)
        for (index, driver) in drivers.enumerated() {
            let delay = UInt64(Double(index) / Double(sessions) * 1e9 / fps)
            driver.pair.agent.eventLoop.execute { driver.start(delayNanos: delay) }
        }
        try await Task.sleep(for: .seconds(duration))
        var skipped = 0
        var results = BenchResults()
        for driver in drivers {
            let stats = try await driver.pair.agent.eventLoop.submit { driver.sender.stop() }.get()
            results.sent += stats.sent
            skipped += stats.skipped
        }
        let cpu = window.read()
        // Let the last frames arrive.
        try await Task.sleep(for: .milliseconds(500))
        for driver in drivers {
            let (frameLatencies, annotationLatencies, bytes) = try await driver.pair.agent.eventLoop.submit {
                (driver.counter.latencies, driver.annotationLatencies, driver.counter.bytes)
            }.get()
            results.add(frames: frameLatencies, annotations: annotationLatencies, bytes: bytes)
        }
        var report = results.report(
            elapsed: duration,
            wall: cpu.seconds,
            cpuSeconds: cpu.brokerCPUSeconds,
            peakRSS: bench.broker.peakRSS(),
            sessions: sessions,
            fps: fps,
            frameBytes: size
        )
        report.loadGenerator = "lean"
        report.generatorCPUPercent = cpu.generatorPercent
        report.framesSkipped = skipped
        try emit(report, text: report.text)
    }
}

/// One session of `--scenario frames --lean`, on one event loop: the customer's paced sender
/// with an annotation every `annotationEvery` frames, the agent's frame counter.
final class LeanFramesDriver: @unchecked Sendable {
    let pair: LoadPair
    let sender: PacedFrameSender
    let counter = FrameCounter()
    let annotation: WebSocketFrame
    let annotationEvery: Int
    private var sendTimes = CircularBuffer<UInt64>(initialCapacity: 16)
    /// Microseconds.
    private(set) var annotationLatencies: [UInt64] = []

    init(pair: LoadPair, frames: LoadMediaFrames, fps: Double, annotation: WebSocketFrame, annotationEvery: Int) {
        self.pair = pair
        self.sender = PacedFrameSender(socket: pair.customer, frames: frames, fps: fps)
        self.annotation = annotation
        self.annotationEvery = annotationEvery
    }

    func start(delayNanos: UInt64) {
        counter.attach(to: pair.agent)
        pair.agent.onText = { _ in
            if let sent = self.sendTimes.popFirst() { self.annotationLatencies.append((LoadClock.nanos() &- sent) / 1000) }
        }
        if annotationEvery > 0 {
            sender.afterSend = { sequence in
                guard sequence % self.annotationEvery == 0 else { return }
                self.pair.customer.writeAndFlush(self.annotation)
                self.sendTimes.append(LoadClock.nanos())
            }
        }
        sender.start(delayNanos: delayNanos)
    }
}
