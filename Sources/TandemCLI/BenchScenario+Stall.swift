import NIOCore
import TandemProtocol

/// The slow-consumer case of issue 14: the customer streams at F fps; after `--warmup`
/// seconds the agent stops reading its socket for `--stall-seconds` (`autoRead` off: nothing
/// is read from the kernel, whose receive buffer fills and closes TCP's window towards the
/// broker), then reads again for `--recovery` seconds.
///
/// Measured: whether the sender was ever held up (its socket stopped taking frames: ticks
/// skipped, the longest gap between frames sent), and after the receiver resumes, how long
/// until it gets a live frame (younger than 100 ms) and how old the oldest frame it still
/// gets is (goal of issue 14: live within 100 ms, nothing older than 1 s). Frames that the
/// receiver's own kernel buffer held are included: the broker cannot take back what it
/// already wrote, so its socket buffers decide how much of the past arrives (`--receive-buffer`
/// sets the receiver's `SO_RCVBUF` to see how that part weighs).
extension Bench {
    static let liveMicros: UInt64 = 100_000
    static let staleMicros: UInt64 = 1_000_000

    func runStall(_ bench: BenchContext) async throws {
        let size = self.size ?? scenario.defaultSize
        let opened = try await bench.openPairs(
            1,
            concurrency: 1,
            placement: .split,
            stream: true,
            agentReceiveBuffer: receiveBuffer
        )
        let pair = opened.pairs[0]
        defer { pair.close() }
        let sender = PacedFrameSender(socket: pair.customer, frames: LoadMediaFrames(size: size), fps: fps)
        let receiver = StallReceiver(socket: pair.agent)
        let window = BenchCPUWindow(bench.broker)
        pair.agent.eventLoop.execute { receiver.start() }
        pair.customer.eventLoop.execute { sender.start() }
        try await Task.sleep(for: .seconds(warmup))
        pair.agent.eventLoop.execute { receiver.pause() }
        try await Task.sleep(for: .seconds(stallSeconds))
        pair.agent.eventLoop.execute { receiver.resume() }
        try await Task.sleep(for: .seconds(recovery))
        let sent = try await pair.customer.eventLoop.submit { sender.stop() }.get()
        try await Task.sleep(for: .milliseconds(300))
        let cpu = window.read()
        let received = try await pair.agent.eventLoop.submit { receiver.stats }.get()
        let report = StallReport(
            fps: fps,
            frameBytes: size,
            warmupSeconds: warmup,
            stallSeconds: stallSeconds,
            recoverySeconds: recovery,
            receiveBufferBytes: receiveBuffer,
            sender: sent,
            receiver: received,
            cpu: cpu,
            peakRSS: bench.broker.peakRSS()
        )
        try emit(report, text: report.text)
    }
}

/// The stalling receiver: counts frames before, during and after the stall, and the ages
/// (receive time − capture time) of those after it.
final class StallReceiver: @unchecked Sendable {
    enum Phase { case before, stalled, resumed }

    struct Stats: Sendable, Codable {
        var framesBefore = 0
        /// Frames handled after the pause took effect: those already read from the socket.
        var framesWhileStalled = 0
        var framesAfter = 0
        var bytesAfter = 0
        /// Frames after the resume older than 1 s, and their bytes.
        var staleFramesAfter = 0
        var staleBytesAfter = 0
        var oldestAgeAfterMs: Double = 0
        var firstAgeAfterMs: Double?
        /// From the resume to the first frame younger than 100 ms; nil if none came.
        var timeToLiveMs: Double?
        /// Frames after the resume before the first live one.
        var framesBeforeLive = 0
        /// The first 40 frames after the resume: [ms since the resume, age in ms].
        var firstFramesAfter: [[Double]] = []
        /// Frame latency before the stall, ms.
        var latencyBeforeMs: [Double] = []
    }

    let socket: LoadSocket
    private var phase = Phase.before
    private var resumedAt: UInt64 = 0
    private var agesBefore: [UInt64] = []
    private var collected = Stats()

    init(socket: LoadSocket) {
        self.socket = socket
    }

    var stats: Stats {
        var stats = collected
        let percentiles = BenchResults.Percentiles(agesBefore)
        stats.latencyBeforeMs = [percentiles.p50, percentiles.p99, percentiles.max]
        return stats
    }

    func start() {
        socket.onBinary = { message in self.received(message) }
    }

    func pause() {
        phase = .stalled
        socket.setReading(false)
    }

    func resume() {
        phase = .resumed
        resumedAt = Bench.nowMicros()
        socket.setReading(true)
    }

    private func received(_ message: ByteBuffer) {
        let now = Bench.nowMicros()
        let age = now &- (LoadMediaFrames.timestamp(of: message) ?? now)
        switch phase {
        case .before:
            collected.framesBefore += 1
            agesBefore.append(age)
        case .stalled:
            collected.framesWhileStalled += 1
        case .resumed:
            let ageMs = Double(age) / 1000
            let sinceResumeMs = Double(now &- resumedAt) / 1000
            collected.framesAfter += 1
            collected.bytesAfter += message.readableBytes
            if collected.firstAgeAfterMs == nil { collected.firstAgeAfterMs = ageMs }
            collected.oldestAgeAfterMs = max(collected.oldestAgeAfterMs, ageMs)
            if age > Bench.staleMicros {
                collected.staleFramesAfter += 1
                collected.staleBytesAfter += message.readableBytes
            }
            if collected.timeToLiveMs == nil {
                if age <= Bench.liveMicros { collected.timeToLiveMs = sinceResumeMs } else { collected.framesBeforeLive += 1 }
            }
            if collected.firstFramesAfter.count < 40 {
                collected.firstFramesAfter.append([(sinceResumeMs * 10).rounded() / 10, (ageMs * 10).rounded() / 10])
            }
        }
    }
}

struct StallReport: Encodable {
    var scenario = "stall"
    var fps: Double
    var frameBytes: Int
    var warmupSeconds: Double
    var stallSeconds: Double
    var recoverySeconds: Double
    /// The stalled receiver's SO_RCVBUF, 0 for the kernel's autotuning.
    var receiveBufferBytes: Int
    var framesSent: Int
    /// Ticks with no frame sent because the sender's socket took no more.
    var ticksSkipped: Int
    var ticksLate: Int
    var maxSendIntervalMs: Double
    var longestUnwritableMs: Double
    /// Whether the sender was ever held up: at some tick its socket took no more (the frame
    /// was skipped). A long gap between frames with no tick skipped is the load generator's
    /// event loop running late (`ticksLate`), not back-pressure from the broker.
    var senderBlocked: Bool
    var receiver: StallReceiver.Stats
    var framesDropped: Int
    /// The goals of issue 14.
    var liveWithin100ms: Bool
    var noFrameOlderThan1s: Bool
    var brokerCPUPercent: Double
    var generatorCPUPercent: Double
    var brokerPeakRSSMegabytes: Double

    init(
        fps: Double,
        frameBytes: Int,
        warmupSeconds: Double,
        stallSeconds: Double,
        recoverySeconds: Double,
        receiveBufferBytes: Int,
        sender: PacedFrameSender.Stats,
        receiver: StallReceiver.Stats,
        cpu: BenchCPUWindow.Reading,
        peakRSS: Int
    ) {
        self.fps = fps
        self.frameBytes = frameBytes
        self.warmupSeconds = warmupSeconds
        self.stallSeconds = stallSeconds
        self.recoverySeconds = recoverySeconds
        self.receiveBufferBytes = receiveBufferBytes
        self.framesSent = sender.sent
        self.ticksSkipped = sender.skipped
        self.ticksLate = sender.late
        self.maxSendIntervalMs = sender.maxIntervalMs
        self.longestUnwritableMs = sender.longestUnwritableMs
        self.senderBlocked = sender.skipped > 0
        self.receiver = receiver
        self.framesDropped = sender.sent - receiver.framesBefore - receiver.framesWhileStalled - receiver.framesAfter
        self.liveWithin100ms = (receiver.timeToLiveMs ?? .infinity) <= 100
        self.noFrameOlderThan1s = receiver.staleFramesAfter == 0
        self.brokerCPUPercent = cpu.brokerPercent
        self.generatorCPUPercent = cpu.generatorPercent
        self.brokerPeakRSSMegabytes = BenchMath.megabytes(peakRSS)
    }

    var text: String {
        let f = BenchMath.format
        let live = receiver.timeToLiveMs.map { "\(f($0, 1)) ms after the resume (\(receiver.framesBeforeLive) older frames first)" } ?? "never"
        let firstFrames = receiver.firstFramesAfter.prefix(12).map { "+\(f($0[0], 0)) ms: \(f($0[1], 0)) ms old" }.joined(separator: ", ")
        return """
            tandem bench --scenario stall: 1 session, \(f(fps, 0)) fps × \(frameBytes) bytes; the receiver stops reading for \(f(stallSeconds, 0)) s \
            after \(f(warmupSeconds, 0)) s, then reads for \(f(recoverySeconds, 0)) s (receive buffer: \(receiveBufferBytes == 0 ? "autotuned" : "\(receiveBufferBytes) bytes"))
              sender:   \(framesSent) frames; \(ticksSkipped) ticks skipped (socket full), \(ticksLate) late; longest gap \(f(maxSendIntervalMs, 1)) ms, \
            longest unwritable \(f(longestUnwritableMs, 1)) ms: \(senderBlocked ? "BLOCKED" : "never blocked")
              receiver: \(receiver.framesBefore) frames before the stall (latency p50 \(f(receiver.latencyBeforeMs.first ?? 0, 2)) ms), \
            \(receiver.framesWhileStalled) while stalled, \(receiver.framesAfter) after (\(framesDropped) dropped by the broker)
              after the resume: live \(live); oldest frame \(f(receiver.oldestAgeAfterMs, 0)) ms old; \
            \(receiver.staleFramesAfter) frames (\(f(BenchMath.megabytes(receiver.staleBytesAfter), 1)) MB) older than 1 s
              first frames after the resume: \(firstFrames)
              goals: live within 100 ms \(liveWithin100ms ? "met" : "NOT met"), nothing older than 1 s \(noFrameOlderThan1s ? "met" : "NOT met")
              broker: \(f(brokerCPUPercent, 0)) % CPU, peak RSS \(f(brokerPeakRSSMegabytes, 1)) MB; load generator \(f(generatorCPUPercent, 0)) % CPU
            """
    }
}
