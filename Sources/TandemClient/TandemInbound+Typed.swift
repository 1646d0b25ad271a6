import TandemProtocol

extension TandemInbound {
    /// Only the media frames of the connection (control messages are skipped).
    ///
    /// The views share the one connection: consume either the whole ``TandemInbound`` or one
    /// view. To handle several kinds at once, use ``split(bufferingControl:)``.
    public var frames: AsyncCompactMapSequence<TandemInbound, MediaFrame> {
        compactMap { event in
            if case .frame(let frame) = event { return frame }
            return nil
        }
    }

    /// Only the annotations (add, append, remove, undo, clear) of the connection.
    public var annotations: AsyncCompactMapSequence<TandemInbound, Annotation> {
        compactMap { event in
            if case .control(.annotation(let annotation)) = event { return annotation }
            return nil
        }
    }

    /// Only the control messages of the connection, annotations included.
    public var controlEvents: AsyncCompactMapSequence<TandemInbound, ControlMessage> {
        compactMap { event in
            if case .control(let message) = event { return message }
            return nil
        }
    }
}

/// The inbound messages of a connection as three typed streams, fed by ``pump()``.
///
/// Frames are droppable (the stream keeps the newest `frameBuffer`); annotations and other
/// control messages are never dropped: when a consumer falls `controlBuffer` messages behind,
/// ``pump()`` throws ``TandemClientError`` instead of losing one.
public struct TandemInboundStreams: Sendable {
    public let frames: AsyncStream<MediaFrame>
    public let annotations: AsyncStream<Annotation>
    public let controlEvents: AsyncStream<ControlMessage>
    private let inbound: TandemInbound
    private let frameSink: AsyncStream<MediaFrame>.Continuation
    private let annotationSink: AsyncStream<Annotation>.Continuation
    private let controlSink: AsyncStream<ControlMessage>.Continuation

    init(inbound: TandemInbound, frameBuffer: Int, controlBuffer: Int) {
        self.inbound = inbound
        (frames, frameSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(frameBuffer))
        (annotations, annotationSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingOldest(controlBuffer))
        (controlEvents, controlSink) = AsyncStream.makeStream(bufferingPolicy: .bufferingOldest(controlBuffer))
    }

    /// Reads the connection and feeds the three streams until it ends; then finishes them.
    public func pump() async throws {
        defer {
            frameSink.finish()
            annotationSink.finish()
            controlSink.finish()
        }
        for try await event in inbound {
            switch event {
            case .frame(let frame):
                frameSink.yield(frame)
            case .control(.annotation(let annotation)):
                if case .dropped = annotationSink.yield(annotation) {
                    throw TandemClientError("the annotations consumer fell too far behind")
                }
            case .control(let message):
                if case .dropped = controlSink.yield(message) {
                    throw TandemClientError("the control events consumer fell too far behind")
                }
            }
        }
    }
}

extension TandemInbound {
    /// Splits the connection into typed streams of frames, annotations and other control
    /// events. Run ``TandemInboundStreams/pump()`` in a task while consuming them.
    public func split(frameBuffer: Int = 4, bufferingControl controlBuffer: Int = 1024) -> TandemInboundStreams {
        TandemInboundStreams(inbound: self, frameBuffer: frameBuffer, controlBuffer: controlBuffer)
    }
}
