import NIOCore
import NIOEmbedded
import NIOWebSocket
import TandemProtocol
import Testing

@testable import TandemServer

/// The event-loop writer of a participant's outbox, on an embedded channel.
@Suite("OutboxWriter: writes on the event loop while the channel is writable, one flush a batch")
struct OutboxWriterTests {
    final class FlushCounter: ChannelOutboundHandler {
        typealias OutboundIn = WebSocketFrame
        var flushes = 0
        /// Set: a flush fills the "socket", and the channel stops being writable (as NIO's
        /// high-water mark does once the TLS handler has encrypted what was flushed).
        var fillsOnFlush = false

        func flush(context: ChannelHandlerContext) {
            flushes += 1
            context.flush()
            if fillsOnFlush, let channel = context.channel as? EmbeddedChannel { channel.isWritable = false }
        }
    }

    struct Harness {
        let channel = EmbeddedChannel()
        let counter = FlushCounter()
        let outbox: ParticipantOutbox

        init(mediaMaxAge: Duration = .seconds(1)) throws {
            outbox = ParticipantOutbox(limits: .init(mediaCapacity: 4, controlCapacity: 8, mediaMaxAge: mediaMaxAge))
            try channel.pipeline.syncOperations.addHandler(counter)
            let writer = OutboxWriter(eventLoop: channel.eventLoop, outbox: outbox, activity: ConnectionActivity())
            try channel.pipeline.syncOperations.addHandler(writer)
            outbox.attach(writer)
        }

        func written() throws -> [WebSocketFrame] {
            var frames: [WebSocketFrame] = []
            while let frame = try channel.readOutbound(as: WebSocketFrame.self) { frames.append(frame) }
            return frames
        }
    }

    func frame(_ byte: UInt8) -> ByteBuffer { ByteBuffer(bytes: [byte]) }

    @Test("what is queued before the event loop runs goes out as one batch: control first, then media, one flush")
    func batch() throws {
        let harness = try Harness()
        _ = harness.outbox.enqueue(media: frame(1), streamID: 1, keyframe: true)
        _ = harness.outbox.enqueue(control: #"{"type":"chat"}"#)
        _ = harness.outbox.enqueue(media: frame(2), streamID: 1, keyframe: true)
        harness.channel.embeddedEventLoop.run()
        let frames = try harness.written()
        #expect(frames.map(\.opcode) == [.text, .binary, .binary])
        #expect(harness.counter.flushes == 1)
    }

    @Test("large frames are flushed as they go, so a socket that fills stops the batch at the first")
    func flushThreshold() throws {
        let harness = try Harness()
        harness.counter.fillsOnFlush = true
        let large = ByteBuffer(repeating: 7, count: 64 * 1024)  // the default threshold
        for _ in 0..<3 { _ = harness.outbox.enqueue(media: large, streamID: 1, keyframe: true) }
        harness.channel.embeddedEventLoop.run()
        #expect(try harness.written().count == 1)
        #expect(harness.counter.flushes == 1)
        harness.channel.isWritable = true
        harness.channel.pipeline.fireChannelWritabilityChanged()
        #expect(try harness.written().count == 1)
        #expect(harness.counter.flushes == 2)
    }

    @Test("one control buffer sent to two outboxes is the same bytes in both")
    func sharedBuffer() throws {
        let first = try Harness()
        let second = try Harness()
        let encoded = ControlMessage.chat(Chat(text: "hello")).jsonBuffer
        _ = first.outbox.enqueue(control: encoded)
        _ = second.outbox.enqueue(control: encoded)
        first.channel.embeddedEventLoop.run()
        second.channel.embeddedEventLoop.run()
        #expect(try first.written().map(\.data) == [encoded])
        #expect(try second.written().map(\.data) == [encoded])
    }

    @Test("nothing is written while the channel is not writable; everything when it is again")
    func writability() throws {
        let harness = try Harness()
        harness.channel.isWritable = false
        _ = harness.outbox.enqueue(media: frame(1), streamID: 1, keyframe: true)
        harness.channel.embeddedEventLoop.run()
        #expect(try harness.written().isEmpty)
        harness.channel.isWritable = true
        harness.channel.pipeline.fireChannelWritabilityChanged()
        #expect(try harness.written().map(\.opcode) == [.binary])
    }

    @Test("frames wait in the media queue, not the channel, so the queue drops the oldest")
    func dropsWhileUnwritable() throws {
        let harness = try Harness()
        harness.channel.isWritable = false
        for byte in UInt8(1)...6 { _ = harness.outbox.enqueue(media: frame(byte), streamID: 1, keyframe: true) }
        harness.channel.embeddedEventLoop.run()
        harness.channel.isWritable = true
        harness.channel.pipeline.fireChannelWritabilityChanged()
        #expect(try harness.written().map { $0.data.getInteger(at: 0, as: UInt8.self) } == [3, 4, 5, 6])
    }

    @Test("a frame that waited longer than the media max age is dropped, and the next enqueue reports it")
    func staleFrame() async throws {
        let harness = try Harness(mediaMaxAge: .milliseconds(20))
        harness.channel.isWritable = false
        _ = harness.outbox.enqueue(media: frame(1), streamID: 1, keyframe: true)
        try await Task.sleep(for: .milliseconds(40))
        harness.channel.isWritable = true
        harness.channel.pipeline.fireChannelWritabilityChanged()
        #expect(try harness.written().isEmpty)
        #expect(harness.outbox.enqueue(media: frame(2), streamID: 1, keyframe: true).dropped == [1: 1])
    }

    @Test("the close is handed back after everything queued before it was written")
    func close() async throws {
        let harness = try Harness()
        _ = harness.outbox.enqueue(control: #"{"type":"session.ended"}"#)
        harness.outbox.finish(.codeExpired)
        harness.channel.embeddedEventLoop.run()
        #expect(try harness.written().map(\.opcode) == [.text])
        let (code, _) = await harness.outbox.closing()
        #expect(code == .codeExpired)
    }

    @Test("after the channel closed, the close is still handed back")
    func closeAfterInactive() async throws {
        let harness = try Harness()
        _ = try harness.channel.finish()
        harness.outbox.finish(.normal)
        harness.channel.embeddedEventLoop.run()
        let (code, _) = await harness.outbox.closing()
        #expect(code == .normal)
    }

    @Test("a close that discards what is queued is handed back even while the channel is full")
    func abandonWhileUnwritable() async throws {
        let harness = try Harness()
        harness.channel.isWritable = false
        _ = harness.outbox.enqueue(media: frame(1), streamID: 1, keyframe: true)
        harness.channel.embeddedEventLoop.run()
        harness.outbox.abandon(.idle)
        harness.channel.embeddedEventLoop.run()
        let (code, _) = await harness.outbox.closing()
        #expect(code == .idle)
    }

    @Test("after the peer's close frame nothing more is written")
    func nothingAfterPeerClose() throws {
        let harness = try Harness()
        try harness.channel.writeInbound(WebSocketFrame(fin: true, opcode: .connectionClose, data: ByteBuffer()))
        _ = harness.outbox.enqueue(control: #"{"type":"session.ended"}"#)
        harness.channel.embeddedEventLoop.run()
        #expect(try harness.written().isEmpty)
    }

    @Test("after the library's close frame nothing more is written")
    func nothingAfterOwnClose() throws {
        let harness = try Harness()
        try harness.channel.writeOutbound(WebSocketFrame(fin: true, opcode: .connectionClose, data: ByteBuffer()))
        _ = try harness.written()
        _ = harness.outbox.enqueue(control: #"{"type":"session.ended"}"#)
        harness.channel.embeddedEventLoop.run()
        #expect(try harness.written().isEmpty)
    }
}
