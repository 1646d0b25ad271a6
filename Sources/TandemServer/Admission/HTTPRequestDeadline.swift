import NIOCore
import NIOHTTPTypes

/// Bounds each HTTP request of a connection that did not upgrade: from its head to its last
/// body byte it gets ``BrokerConfiguration/Limits/requestDeadline`` in total, so a body
/// dripped a byte at a time cannot hold the connection; and a response sent before the
/// request was read to its end (an error such as 401 or 413) closes the connection once
/// written, instead of reading the rest of a body nobody will use (protocol/README.md §13).
final class HTTPRequestDeadline: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let deadline: TimeAmount
    private var timer: Scheduled<Void>?
    private var reading = false
    private var closeAfterResponse = false

    init(deadline: TimeAmount) {
        self.deadline = deadline
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            reading = true
            timer?.cancel()
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            timer = context.eventLoop.scheduleTask(in: deadline) {
                bound.value.close(promise: nil)
            }
        case .body:
            break
        case .end:
            reading = false
            timer?.cancel()
            timer = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head:
            // Answered before the request was read to its end: nothing more of it is wanted.
            if reading { closeAfterResponse = true }
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            guard closeAfterResponse else {
                context.write(data, promise: promise)
                return
            }
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(data).whenComplete { result in
                promise?.completeWith(result)
                bound.value.close(promise: nil)
            }
        }
    }
}
