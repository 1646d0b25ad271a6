// Micro-benchmarks of the relay's hot paths (issue 14): the binary media frame header, the
// WebSocket unmask, control-message decode and encode, and the media queue. Each reports wall
// clock, throughput, malloc calls and (where perf events are allowed) instructions.
//
// Allocation gates: Thresholds/TandemMicro.NAME.p90.json holds the expected mallocCountTotal
// at p90 (per measured iteration, that is per `scaledIterations` loop), and the tolerance below
// is 0, so `bash bench/micro.sh check` fails on one malloc more (or fewer) than that. Benchmark
// names must not contain spaces or slashes: the threshold file is looked up by the raw name.

import Benchmark
import NIOCore
import NIOWebSocket
import TandemCore
@_spi(Codec) import TandemProtocol

let benchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal, .instructions]

    /// The malloc count at p90 must equal the stored threshold exactly.
    let exactMallocs: [BenchmarkMetric: BenchmarkThresholds] = [
        .mallocCountTotal: BenchmarkThresholds(absolute: [.p90: 0])
    ]
    /// JSON coding allocates through Foundation: compared between baselines, 5 % more mallocs
    /// at p90 is a regression.
    let foundationMallocs: [BenchmarkMetric: BenchmarkThresholds] = [
        .mallocCountTotal: BenchmarkThresholds(relative: [.p90: 5.0])
    ]

    func configuration(
        _ scalingFactor: BenchmarkScalingFactor,
        thresholds: [BenchmarkMetric: BenchmarkThresholds]
    ) -> Benchmark.Configuration {
        Benchmark.Configuration(
            metrics: metrics,
            warmupIterations: 3,
            scalingFactor: scalingFactor,
            maxDuration: .seconds(1),
            maxIterations: 10_000,
            thresholds: thresholds
        )
    }

    // MARK: Binary media frame header (protocol/README.md §4)

    // A 200 KB JPEG frame as the broker receives it: the header is all that is read.
    let mediaMessage = MediaFrame(
        streamID: 1,
        sequence: 4_242,
        codec: .jpeg,
        keyframe: true,
        timestampMicros: 1_760_000_000_000_000,
        payload: ByteBuffer(repeating: 0xab, count: 200_000)
    ).encoded()
    precondition((try? MediaFrameHeader.validate(message: mediaMessage))?.sequence == 4_242)
    precondition((try? MediaFrame.decodeMessage(mediaMessage))?.payload.readableBytes == 200_000)

    // The broker's check of every binary message: 24 bytes read, no allocation.
    Benchmark("MediaFrameHeader.validate", configuration: configuration(.kilo, thresholds: exactMallocs)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try? MediaFrameHeader.validate(message: mediaMessage))
        }
    }

    // Header plus payload slice (a view of the same storage): no allocation.
    Benchmark("MediaFrame.decodeMessage", configuration: configuration(.kilo, thresholds: exactMallocs)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try? MediaFrame.decodeMessage(mediaMessage))
        }
    }

    // MARK: WebSocket unmask (RFC 6455 §5.3)

    // The RFC 6455 §5.7 key. Unmasking twice restores the bytes, so each buffer is reused in
    // place: it is the only reference to its storage, so nothing is copied or allocated.
    let maskKey: UInt32 = 0x37fa_213d
    let nioMaskKey: WebSocketMaskingKey = [0x37, 0xfa, 0x21, 0x3d]
    var frame200KB = ByteBuffer(repeating: 0x5a, count: 200_000)
    var frame200B = ByteBuffer(repeating: 0x5a, count: 200)
    var nioFrame200KB = ByteBuffer(repeating: 0x5a, count: 200_000)

    // A 200 KB frame payload (bench/relay.sh's frame size), eight bytes at a time.
    Benchmark("WebSocketMasking.unmask.200KB", configuration: configuration(.one, thresholds: exactMallocs)) { benchmark in
        for _ in benchmark.scaledIterations {
            WebSocketMasking.unmask(&frame200KB, maskKey: maskKey)
        }
        blackHole(frame200KB.readableBytes)
    }

    // A control-message-sized frame: the call's fixed cost.
    Benchmark("WebSocketMasking.unmask.200B", configuration: configuration(.kilo, thresholds: exactMallocs)) { benchmark in
        for _ in benchmark.scaledIterations {
            WebSocketMasking.unmask(&frame200B, maskKey: maskKey, indexOffset: 1)
        }
        blackHole(frame200B.readableBytes)
    }

    // For comparison only: NIOWebSocket's own unmask (a byte at a time), which the broker
    // no longer runs (WebSocketUnmasker unmasks first and clears the key). No gate.
    Benchmark(
        "NIOWebSocket.webSocketUnmask.200KB",
        configuration: configuration(.one, thresholds: [:])
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            nioFrame200KB.webSocketUnmask(nioMaskKey)
        }
        blackHole(nioFrame200KB.readableBytes)
    }

    // MARK: Control messages (protocol/README.md §5), about 200 bytes of JSON each

    let chat = ControlMessage.chat(
        Chat(
            text: "The printer says paper jam in tray 2, but the tray is empty. I opened the back cover "
                + "twice and restarted it. Which lever should I pull next? Thanks, Sam.",
            from: .customer
        )
    )
    let annotation = ControlMessage.annotation(
        Annotation(
            op: .add,
            owner: .customer,
            streamID: 1,
            shape: Shape(id: "arrow-0042", kind: .arrow, color: "#ff3b30", width: 4, points: [[0.125, 0.25], [0.625, 0.75]], author: .agent),
            author: .agent
        )
    )
    // What a client sends: no `from`/`author` (the broker sets them). These take the fast
    // path (ControlFastReader); the `.codable` cases are JSONDecoder's cost for the same text.
    var chatIn = chat
    var annotationIn = annotation
    if case .chat(var payload) = chatIn {
        payload.from = nil
        chatIn = .chat(payload)
    }
    if case .annotation(var payload) = annotationIn {
        payload.author = nil
        payload.shape?.author = nil
        annotationIn = .annotation(payload)
    }
    let chatText = chatIn.jsonText
    let annotationText = annotationIn.jsonText
    precondition(ControlMessage.fastDecode(text: chatText) == chatIn)
    precondition(ControlMessage.fastDecode(text: annotationText) == annotationIn)

    Benchmark("ControlMessage.decode.chat", configuration: configuration(.one, thresholds: foundationMallocs)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try? ControlMessage.decode(text: chatText))
        }
    }

    Benchmark("ControlMessage.decode.annotation", configuration: configuration(.one, thresholds: foundationMallocs)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try? ControlMessage.decode(text: annotationText))
        }
    }

    Benchmark("ControlMessage.codableDecode.annotation", configuration: configuration(.one, thresholds: foundationMallocs)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try? ControlMessage.codableDecode(text: annotationText))
        }
    }

    Benchmark("ControlMessage.codableEncoded.annotation", configuration: configuration(.one, thresholds: foundationMallocs)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(annotation.codableEncoded)
        }
    }

    Benchmark("ControlMessage.jsonText.chat", configuration: configuration(.one, thresholds: foundationMallocs)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(chat.jsonText)
        }
    }

    Benchmark("ControlMessage.jsonText.annotation", configuration: configuration(.one, thresholds: foundationMallocs)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(annotation.jsonText)
        }
    }

    // MARK: Media queue (one receiver's, as ParticipantOutbox holds it)

    // Frames are slices of one received message, as in the relay; a fixed `now` keeps every
    // frame fresh (popFirst drops only frames older than maxAge).
    let frame = ByteBuffer(repeating: 0x11, count: 50_000)
    let frameBytes = frame.readableBytes
    let now = ContinuousClock.now

    // A receiver that keeps up: each frame is queued and taken out. Measured: 2 mallocs per
    // enqueue + pop (the gate holds it there; the queue's storage itself is allocated once).
    var keepingUp = MediaQueue<ByteBuffer>(capacity: 8)
    Benchmark("MediaQueue.enqueueThenPop", configuration: configuration(.kilo, thresholds: exactMallocs)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(keepingUp.enqueue(frame, bytes: frameBytes, streamID: 1, keyframe: false, now: now))
            blackHole(keepingUp.popFirst(now: now))
        }
    }

    // A receiver that fell behind: the queue is full of keyframes, so each new frame drops the
    // oldest (nothing depends on it: the next queued frame is a keyframe). Measured: 3 mallocs
    // per frame (the per-stream dictionary of EnqueueResult.dropped among them); 17 before
    // removeFrames stopped capturing its counters in a closure.
    var fallingBehind = MediaQueue<ByteBuffer>(capacity: 8)
    for _ in 0..<8 {
        _ = fallingBehind.enqueue(frame, bytes: frameBytes, streamID: 1, keyframe: true, now: now)
    }
    precondition(fallingBehind.enqueue(frame, bytes: frameBytes, streamID: 1, keyframe: true, now: now).dropped == [1: 1])
    Benchmark("MediaQueue.enqueue.dropOldest", configuration: configuration(.kilo, thresholds: exactMallocs)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(fallingBehind.enqueue(frame, bytes: frameBytes, streamID: 1, keyframe: true, now: now))
        }
    }
}
