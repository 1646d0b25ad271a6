import NIOCore
import NIOWebSocket
import TandemProtocol

// What the load generator does per message, on the event loops. Each class is confined to
// the event loop(s) of the sockets it drives (hence `@unchecked Sendable`): the scenario
// code starts and reads it through `eventLoop.execute`/`submit`. The sockets' hooks hold
// their driver strongly; a driver lives as long as the bench run.

/// Counts a receiver's media frames and their latency (receive time − capture time in the
/// frame header, both on this host's clock).
final class FrameCounter: @unchecked Sendable {
    private(set) var frames = 0
    private(set) var bytes = 0
    /// Microseconds.
    private(set) var latencies: [UInt64] = []

    /// Sets the socket's binary hook (on its event loop).
    func attach(to socket: LoadSocket) {
        socket.onBinary = { message in
            let now = Bench.nowMicros()
            self.frames += 1
            self.bytes += message.readableBytes
            if let captured = LoadMediaFrames.timestamp(of: message) { self.latencies.append(now &- captured) }
        }
    }
}

/// Sends frames as fast as the socket takes them: while NIO reports the channel writable
/// (pending bytes under the high-water mark), frame after frame, each flushed; then it waits
/// for the writability change. Bursts are cut at 16 frames so the event loop serves its
/// other channels.
final class FlatOutSender: @unchecked Sendable {
    let socket: LoadSocket
    let frames: LoadMediaFrames
    private var running = false
    private var scheduled = false
    private(set) var sent = 0

    init(socket: LoadSocket, frames: LoadMediaFrames) {
        self.socket = socket
        self.frames = frames
    }

    func start() {
        running = true
        socket.onWritable = { self.pump() }
        pump()
    }

    /// Stops sending; returns the frames sent.
    func stop() -> Int {
        running = false
        return sent
    }

    private func pump() {
        var burst = 0
        while running, socket.isWritable, burst < 16 {
            frames.write(sequence: UInt32(truncatingIfNeeded: sent), on: socket)
            sent += 1
            burst += 1
        }
        if running, socket.isWritable, !scheduled {
            scheduled = true
            socket.eventLoop.execute {
                self.scheduled = false
                self.pump()
            }
        }
    }
}

/// Sends one stream's frames at a fixed rate, as a capture loop does: on each tick one frame,
/// or none when the socket takes no more (the tick is counted as skipped; the sender never
/// waits). Ticks are scheduled at absolute times, so the rate does not drift; ticks the event
/// loop missed entirely (it ran late) are counted as late, not made up.
final class PacedFrameSender: @unchecked Sendable {
    struct Stats: Sendable {
        var sent = 0
        /// Ticks with no frame: the socket did not take writes.
        var skipped = 0
        /// Ticks the event loop missed.
        var late = 0
        /// Longest time between two frames sent, ms.
        var maxIntervalMs: Double = 0
        /// Longest stretch the socket did not take writes, ms.
        var longestUnwritableMs: Double = 0
    }

    let socket: LoadSocket
    let frames: LoadMediaFrames
    let intervalNanos: UInt64
    /// Called on the event loop after frame number `n` went out.
    var afterSend: ((Int) -> Void)?
    private var origin: UInt64 = 0
    private var tick: UInt64 = 0
    private var timer: Scheduled<Void>?
    private var running = false
    private var stats = Stats()
    private var lastSend: UInt64 = 0
    private var unwritableSince: UInt64?

    init(socket: LoadSocket, frames: LoadMediaFrames, fps: Double) {
        self.socket = socket
        self.frames = frames
        self.intervalNanos = UInt64(1e9 / fps)
    }

    /// Starts ticking after `delayNanos` (spreads many senders over one interval).
    func start(delayNanos: UInt64 = 0) {
        running = true
        origin = LoadClock.nanos() + delayNanos
        socket.onWritable = { self.writable() }
        schedule()
    }

    /// Stops; returns what was sent.
    func stop() -> Stats {
        running = false
        timer?.cancel()
        timer = nil
        if let since = unwritableSince {
            stats.longestUnwritableMs = max(stats.longestUnwritableMs, Double(LoadClock.nanos() - since) / 1e6)
            unwritableSince = nil
        }
        return stats
    }

    private func schedule() {
        timer = socket.eventLoop.scheduleTask(deadline: .uptimeNanoseconds(origin + tick * intervalNanos)) {
            self.fire()
        }
    }

    private func fire() {
        guard running else { return }
        let now = LoadClock.nanos()
        if socket.isWritable {
            frames.write(sequence: UInt32(truncatingIfNeeded: stats.sent), on: socket)
            if lastSend > 0 { stats.maxIntervalMs = max(stats.maxIntervalMs, Double(now - lastSend) / 1e6) }
            lastSend = now
            afterSend?(stats.sent)
            stats.sent += 1
            if !socket.isWritable, unwritableSince == nil { unwritableSince = now }
        } else {
            stats.skipped += 1
            if unwritableSince == nil { unwritableSince = now }
        }
        tick += 1
        // A tick more than one interval in the past was missed: skip to the next one ahead.
        let due = origin + tick * intervalNanos
        if now > due + intervalNanos {
            let next = (now - origin) / intervalNanos + 1
            stats.late += Int(next - tick)
            tick = next
        }
        schedule()
    }

    private func writable() {
        guard let since = unwritableSince else { return }
        stats.longestUnwritableMs = max(stats.longestUnwritableMs, Double(LoadClock.nanos() - since) / 1e6)
        unwritableSince = nil
    }
}

/// Small control messages from a pair's customer to its agent, both on one event loop:
/// flat out within an in-flight window (the broker never drops control messages, it
/// disconnects a receiver more than 1024 behind, so an unbounded sender would only measure
/// that), or paced at a fixed rate. Messages arrive in order and none is dropped, so the
/// latency of each is its receive time minus the send time at the head of a FIFO.
final class ControlDriver: @unchecked Sendable {
    struct Snapshot: Sendable {
        var sent: Int
        var received: Int
    }

    let pair: LoadPair
    let messages: [WebSocketFrame]
    private var running = false
    private var window = Int.max
    private var sendTimes = CircularBuffer<UInt64>(initialCapacity: 1024)
    private var timer: Scheduled<Void>?
    private var origin: UInt64 = 0
    private var tick: UInt64 = 0
    private var intervalNanos: UInt64 = 0
    private(set) var sent = 0
    private(set) var received = 0
    /// Microseconds.
    private(set) var latencies: [UInt64] = []

    init(pair: LoadPair, messages: [WebSocketFrame]) {
        self.pair = pair
        self.messages = messages
    }

    /// Keeps `window` messages in flight; refills when half of them arrived.
    func startFlatOut(window: Int) {
        running = true
        self.window = window
        pair.agent.onText = { _ in
            self.arrived()
            if self.running, self.sent - self.received <= self.window / 2 { self.pump() }
        }
        pair.customer.onWritable = { self.pump() }
        pump()
    }

    /// One message every 1/`rate` seconds, the first after `delayNanos`.
    func startPaced(rate: Double, delayNanos: UInt64) {
        running = true
        intervalNanos = UInt64(1e9 / rate)
        origin = LoadClock.nanos() + delayNanos
        pair.agent.onText = { _ in self.arrived() }
        schedule()
    }

    func stop() -> Snapshot {
        running = false
        timer?.cancel()
        timer = nil
        return Snapshot(sent: sent, received: received)
    }

    private func arrived() {
        received += 1
        if let sentAt = sendTimes.popFirst() { latencies.append((LoadClock.nanos() &- sentAt) / 1000) }
    }

    private func pump() {
        let socket = pair.customer
        var wrote = false
        while running, sent - received < window, socket.isWritable {
            socket.write(messages[sent % messages.count])
            sendTimes.append(LoadClock.nanos())
            sent += 1
            wrote = true
        }
        if wrote { socket.flush() }
    }

    private func schedule() {
        timer = pair.customer.eventLoop.scheduleTask(deadline: .uptimeNanoseconds(origin + tick * intervalNanos)) {
            self.fire()
        }
    }

    private func fire() {
        guard running else { return }
        pair.customer.writeAndFlush(messages[sent % messages.count])
        sendTimes.append(LoadClock.nanos())
        sent += 1
        tick += 1
        schedule()
    }
}
