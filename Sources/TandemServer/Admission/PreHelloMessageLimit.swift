import NIOCore
import NIOWebSocket

/// Sits in front of NIOWebSocket's frame decoder and refuses, from the frame header alone, a
/// message larger than the connection's current limit: the hello limit until the broker has
/// welcomed the participant (``AdmissionTicket/isWelcomed``), the echo limit on `/v1/echo`.
/// The decoder would otherwise hold the whole frame (up to the 4 MiB message limit) in
/// memory until it is complete, for anyone who connects (protocol/README.md §13).
///
/// It only reads the length fields of RFC 6455 §5.2 to know where frames start and how long
/// data messages are (control frames are not counted, continuation frames add to their
/// message); decoding, unmasking and validation stay NIOWebSocket's. Bytes are passed on
/// unchanged and never buffered. Over the limit it raises NIOWebSocket's own
/// `invalidFrameLength`, so `WebSocketProtocolErrorHandler` closes with 1009 as it does for
/// the decoder's limit, and drops what follows.
final class PreHelloMessageLimit: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let ticket: AdmissionTicket
    /// The echo endpoint's limit is for the connection's life; the relay's hello limit ends
    /// with the welcome.
    private let limit: Int
    private let untilWelcomed: Bool
    private var scanner = WebSocketLengthScanner()
    private var refused = false

    init(ticket: AdmissionTicket, helloLimit: Int, echoLimit: Int) {
        self.ticket = ticket
        switch ticket.endpoint {
        case .echo:
            (limit, untilWelcomed) = (echoLimit, false)
        case .relay, .other:
            (limit, untilWelcomed) = (helloLimit, true)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if refused { return }
        if untilWelcomed, ticket.isWelcomed {
            // The welcome went out before any byte of a larger message can have been sent in
            // answer: from here the decoder's own limit applies, and this handler leaves.
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        let buffer = unwrapInboundIn(data)
        if let announced = scanner.scan(buffer), announced > limit {
            refused = true
            context.fireErrorCaught(NIOWebSocketError.invalidFrameLength)
            return
        }
        context.fireChannelRead(data)
    }
}

/// Follows the frame boundaries of a WebSocket byte stream from the length fields alone and
/// reports how long the data message being received is announced to be (the sum of its
/// frames' payload lengths so far). Pure: no I/O, unit-tested with the RFC 6455 examples.
struct WebSocketLengthScanner: Sendable {
    /// Header bytes of the frame being read (at most 14).
    private var header: [UInt8] = []
    /// Payload bytes of the current frame still to skip.
    private var remaining: UInt64 = 0
    /// Payload bytes announced so far for the current data message.
    private(set) var messageLength: UInt64 = 0
    /// The current data message is complete (its last frame had FIN).
    private var messageDone = true

    init() {}

    /// Feeds the next bytes; returns the largest message length announced in them, or nil
    /// when no frame header completed.
    mutating func scan(_ buffer: ByteBuffer) -> UInt64? {
        var largest: UInt64?
        var index = buffer.readerIndex
        let end = buffer.writerIndex
        while index < end {
            if remaining > 0 {
                let skip = min(UInt64(end - index), remaining)
                remaining -= skip
                index += Int(skip)
                continue
            }
            header.append(buffer.getInteger(at: index, as: UInt8.self)!)
            index += 1
            guard let (fin, opcode, length, headerLength) = Self.parse(header), header.count == headerLength else { continue }
            header.removeAll(keepingCapacity: true)
            remaining = length
            let isControl = opcode & 0x08 != 0
            guard !isControl else { continue }
            if opcode != 0 || messageDone { messageLength = 0 }
            messageLength &+= length
            messageDone = fin
            largest = max(largest ?? 0, messageLength)
        }
        return largest
    }

    /// FIN, opcode, payload length and total header length of a frame header, once enough
    /// bytes are there to know them.
    private static func parse(_ header: [UInt8]) -> (Bool, UInt8, UInt64, Int)? {
        guard header.count >= 2 else { return nil }
        let fin = header[0] & 0x80 != 0
        let opcode = header[0] & 0x0F
        let masked = header[1] & 0x80 != 0
        let short = header[1] & 0x7F
        let lengthBytes = short == 126 ? 2 : short == 127 ? 8 : 0
        let headerLength = 2 + lengthBytes + (masked ? 4 : 0)
        guard header.count >= 2 + lengthBytes else { return nil }
        var length = UInt64(short)
        if lengthBytes > 0 {
            length = header[2..<(2 + lengthBytes)].reduce(0) { $0 << 8 | UInt64($1) }
        }
        return (fin, opcode, length, headerLength)
    }
}
