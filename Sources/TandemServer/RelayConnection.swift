import HummingbirdWebSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOWebSocket
import ServiceLifecycle
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One participant's WebSocket: hello, then relaying until the session or the connection ends.
///
/// Three pieces run together: the reader (this task), the writer draining the
/// participant's ``ParticipantOutbox``, and the hello timer.
struct RelayConnection {
    let hub: SessionHub
    let configuration: BrokerConfiguration
    let statistics: BrokerStatistics
    var logger: Logger

    /// What the connection is bound to after a successful hello.
    private struct Binding {
        var session: LiveSession
        var role: ParticipantRole
    }

    /// How long a participant that overflowed its control queue gets to take the close frame
    /// before its connection is cut.
    static let slowConsumerGrace: Duration = .seconds(2)

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, channel: any Channel) async {
        let outbox = ParticipantOutbox(
            limits: .init(mediaCapacity: configuration.mediaQueueCapacity, controlCapacity: configuration.controlQueueCapacity),
            statistics: statistics
        )
        hub.connectionOpened(outbox)
        defer { hub.connectionClosed(outbox) }
        let (helloSignal, helloDone) = AsyncStream<Never>.makeStream()
        let (drained, drainedSink) = AsyncStream<Never>.makeStream()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await Self.drain(outbox, into: outbound)
                drainedSink.finish()
            }
            group.addTask {
                // A stalled recipient blocks the writer: cut the connection after a grace period.
                let overflowed = await withTaskGroup(of: Bool.self) { watch in
                    watch.addTask {
                        for await _ in outbox.overflowed { return true }
                        return false
                    }
                    watch.addTask {
                        for await _ in drained {}
                        return false
                    }
                    defer { watch.cancelAll() }
                    return await watch.next() ?? false
                }
                guard overflowed else { return }
                // The writer may be blocked on the stalled recipient and never send the close
                // frame: cut the connection after the grace period (closing twice is harmless).
                try? await Task.sleep(for: Self.slowConsumerGrace)
                logger.debug("Cutting the connection of a participant that read too slowly")
                channel.close(mode: .all, promise: nil)
            }
            group.addTask { [helloTimeout = configuration.helloTimeout] in
                // Whichever ends first: the timeout, or the signal that the hello was handled.
                let timedOut = await withTaskGroup(of: Bool.self) { timer in
                    timer.addTask { (try? await Task.sleep(for: helloTimeout)) != nil }
                    timer.addTask {
                        for await _ in helloSignal {}
                        return false
                    }
                    defer { timer.cancelAll() }
                    return await timer.next() ?? false
                }
                if timedOut { outbox.abandon(.helloTimeout) }
            }
            let binding = await read(inbound: inbound, outbox: outbox, helloDone: helloDone)
            helloDone.finish()
            if let binding {
                let event: SessionStateMachine.Event
                if hub.isShuttingDown {
                    event = .endRequested(reason: .brokerShutdown, outcome: nil, note: nil, at: Date())
                } else if outbox.closeCode == .slowConsumer {
                    logger.warning("Disconnected a participant that read too slowly", metadata: ["tandem.role": "\(binding.role.rawValue)"])
                    event = .endRequested(reason: .slowConsumer, outcome: nil, note: nil, at: Date())
                } else {
                    event = .participantLeft(binding.role, at: Date())
                }
                await hub.end(binding.session, event: event)
            }
            // Let the writer deliver what is queued (a refusal, session.ended) and the close frame.
            outbox.finish(.normal)
        }
    }

    /// Writes what the relay queued for this participant until the outbox closes.
    private static func drain(_ outbox: ParticipantOutbox, into outbound: WebSocketOutboundWriter) async {
        do {
            while true {
                switch await outbox.next() {
                case .text(let text):
                    try await outbound.write(.text(text))
                case .binary(let buffer):
                    try await outbound.write(.binary(buffer))
                case .close(let code):
                    try await outbound.close(.init(codeNumber: Int(code.rawValue)), reason: code.reason)
                    return
                }
            }
        } catch {
            // The connection is gone; the reader sees the end of its inbound stream.
        }
    }

    /// Reads until the connection closes. Returns the session it joined, if any.
    private func read(inbound: WebSocketInboundStream, outbox: ParticipantOutbox, helloDone: AsyncStream<Never>.Continuation) async -> Binding? {
        var binding: Binding?
        var logger = self.logger
        do {
            for try await message in inbound.messages(maxSize: configuration.maxMessageSize) {
                guard let bound = binding else {
                    binding = await hello(message, outbox: outbox, logger: &logger)
                    helloDone.finish()
                    if binding == nil { break }
                    continue
                }
                switch message {
                case .binary(let buffer):
                    relayMedia(buffer, binding: bound, outbox: outbox)
                case .text(let text):
                    await control(text, binding: bound, outbox: outbox)
                }
            }
        } catch {
            logger.debug("Connection read ended", metadata: ["error": "\(String(reflecting: type(of: error)))"])
        }
        return binding
    }

    // MARK: hello

    private func hello(_ message: WebSocketMessage, outbox: ParticipantOutbox, logger: inout Logger) async -> Binding? {
        guard case .text(let text) = message, text.utf8.count <= configuration.maxControlMessageSize,
            case .hello(let hello) = try? ControlMessage.decode(text: text)
        else {
            refuse(.badRequest, outbox: outbox, message: "the first message must be a hello (protocol/README.md §5.1)")
            return nil
        }
        guard hello.protocolVersion == TandemWire.version else {
            refuse(.unsupportedVersion, outbox: outbox, message: "this broker speaks protocol \(TandemWire.version)")
            return nil
        }
        do {
            switch hello.role {
            case .agent: return try await openSession(hello, outbox: outbox, logger: &logger)
            case .customer: return try await joinSession(hello, outbox: outbox, logger: &logger)
            }
        } catch {
            logger.error("Hello failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            outbox.abandon(.internalError)
            return nil
        }
    }

    private func openSession(_ hello: Hello, outbox: ParticipantOutbox, logger: inout Logger) async throws -> Binding? {
        guard let token = hello.token, APIToken.isWellFormed(token),
            let user = try await hub.store.user(tokenHash: APIToken.hash(token)), user.isActive
        else {
            refuse(.unauthorized, outbox: outbox, message: "missing, unknown or revoked token")
            return nil
        }
        guard user.role.canStartSessions else {
            refuse(.forbidden, outbox: outbox, message: "role \(user.role.rawValue) cannot start sessions")
            return nil
        }
        guard let start = hello.start, TicketID.isValid(start.ticket) else {
            refuse(.badRequest, outbox: outbox, message: "start.ticket must be 1-64 printable characters without spaces")
            return nil
        }
        let (session, created) = try await hub.open(agent: user, start: start, agentOutbox: outbox)
        logger[metadataKey: "tandem.session.id"] = "\(session.id)"
        logger[metadataKey: "tandem.ticket"] = "\(session.ticket)"
        _ = outbox.enqueue(.sessionCreated(created))
        return Binding(session: session, role: .agent)
    }

    private func joinSession(_ hello: Hello, outbox: ParticipantOutbox, logger: inout Logger) async throws -> Binding? {
        guard let code = hello.code.flatMap(JoinCodeFormat.normalize) else {
            refuse(.unknownCode, outbox: outbox, message: "no session has this join code")
            return nil
        }
        switch try await hub.join(code: code, client: hello.client.map { String($0.prefix(128)) }, customerOutbox: outbox) {
        case .rejected(let closeCode):
            refuse(closeCode, outbox: outbox, message: closeCode.reason)
            return nil
        case .joined(let session):
            logger[metadataKey: "tandem.session.id"] = "\(session.id)"
            logger[metadataKey: "tandem.ticket"] = "\(session.ticket)"
            return Binding(session: session, role: .customer)
        }
    }

    /// Sends an `error` explaining the refusal, then closes with `code`.
    private func refuse(_ code: TandemCloseCode, outbox: ParticipantOutbox, message: String) {
        _ = outbox.enqueue(.error(ErrorMessage(code: code.identifier, message: message)))
        outbox.finish(code)
    }

    // MARK: relaying

    private func relayMedia(_ buffer: ByteBuffer, binding: Binding, outbox: ParticipantOutbox) {
        let header: MediaFrameHeader
        do {
            header = try MediaFrameHeader.validate(message: buffer)
        } catch {
            _ = outbox.enqueue(.error(ErrorMessage(code: error.identifier, message: "binary frame dropped: \(error)")))
            return
        }
        guard case .success(let peer) = binding.session.relayMedia(from: binding.role, streamID: header.streamID, bytes: buffer.readableBytes)
        else { return }
        let result = peer.enqueue(media: buffer, streamID: header.streamID, keyframe: header.isKeyframe)
        if !result.dropped.isEmpty {
            binding.session.framesDropped(owner: binding.role, result.dropped)
        }
        for streamID in result.keyframeRequests {
            // The publisher is this connection: ask it for a keyframe.
            _ = outbox.enqueue(.streamControl(StreamControl(streamID: streamID, action: .keyframe, origin: .broker)))
        }
    }

    /// Handles one control message after the hello. Refusals are `error` replies; the connection stays open.
    private func control(_ text: String, binding: Binding, outbox: ParticipantOutbox) async {
        let message: ControlMessage
        do {
            guard text.utf8.count <= configuration.maxControlMessageSize else { throw ProtocolError.invalidField("size") }
            message = try ControlMessage.decode(text: text)
        } catch let error as ProtocolError {
            _ = outbox.enqueue(.error(ErrorMessage(code: error.identifier, message: "control message refused: \(error)")))
            return
        } catch {
            return
        }
        let role = binding.role
        switch message {
        case .chat(var chat):
            guard chat.text.count <= Chat.maxLength else {
                _ = outbox.enqueue(.error(ErrorMessage(code: "invalid-field", message: "chat text is limited to \(Chat.maxLength) characters")))
                return
            }
            chat.from = role
            relay(binding, outbox, requiresPeer: true) { activity in
                activity.chatRelayed()
                return .success(.chat(chat))
            }
        case .streamStart(let start):
            relay(binding, outbox) { $0.start(start, by: role).map(ControlMessage.streamStart) }
        case .streamStop(let ref):
            relay(binding, outbox) { $0.change(ref, by: role, stopping: true).map(ControlMessage.streamStop) }
        case .streamPause(let ref):
            relay(binding, outbox) { $0.change(ref, by: role, stopping: false).map(ControlMessage.streamPause) }
        case .streamResume(let ref):
            relay(binding, outbox) { $0.change(ref, by: role, stopping: false).map(ControlMessage.streamResume) }
        case .streamControl(var control):
            control.origin = role == .agent ? .agent : .customer
            relay(binding, outbox, requiresPeer: true) { _ in
                if let fps = control.fps, !(fps > 0 && fps <= 240) { return .failure(.invalidField("fps")) }
                if let quality = control.quality, !(quality > 0 && quality <= 1) { return .failure(.invalidField("quality")) }
                return .success(.streamControl(control))
            }
        case .annotation(let annotation):
            relay(binding, outbox) { $0.annotate(annotation, by: role, now: Date()).map(ControlMessage.annotation) }
        case .freeze(let freeze):
            relay(binding, outbox) { $0.freeze(freeze, by: role, freezing: true).map(ControlMessage.freeze) }
        case .unfreeze(let freeze):
            relay(binding, outbox) { $0.freeze(freeze, by: role, freezing: false).map(ControlMessage.unfreeze) }
        case .sessionEnd(let end):
            if role == .customer, end.outcome != nil || end.note != nil {
                _ = outbox.enqueue(.error(ErrorMessage(code: "forbidden-field", message: "only the agent records an outcome")))
                return
            }
            if let note = end.note, note.count > SessionEnd.maxNoteLength {
                _ = outbox.enqueue(.error(ErrorMessage(code: "invalid-field", message: "note is limited to \(SessionEnd.maxNoteLength) characters")))
                return
            }
            let reason: EndReason = role == .agent ? .agentEnded : .customerLeft
            await hub.end(binding.session, event: .endRequested(reason: reason, outcome: end.outcome, note: end.note, at: Date()))
        case .hello, .sessionCreated, .sessionJoined, .peerJoined, .sessionEnded, .error, .overlaySnapshot:
            _ = outbox.enqueue(.error(ErrorMessage(code: "unexpected-message", message: "\(message.type) is not accepted here")))
        }
    }

    /// Applies a control message to the session and relays what was accepted; refusals
    /// go back to the sender as `error`.
    private func relay(
        _ binding: Binding,
        _ outbox: ParticipantOutbox,
        requiresPeer: Bool = false,
        _ update: (inout SessionActivity) -> Result<ControlMessage, SessionActivity.Rejection>
    ) {
        switch binding.session.relayControl(from: binding.role, requiresPeer: requiresPeer, update) {
        case .accepted(let message, let peer):
            _ = peer?.enqueue(message)
        case .noPeer:
            _ = outbox.enqueue(.error(ErrorMessage(code: "no-peer", message: "nobody has joined yet")))
        case .rejected(let rejection):
            _ = outbox.enqueue(.error(rejection.errorMessage))
        case .ended:
            break
        }
    }
}

extension SessionActivity.Rejection {
    /// The `error` message that explains the refusal.
    var errorMessage: ErrorMessage {
        switch self {
        case .tooManyStreams:
            ErrorMessage(code: "too-many-streams", message: "at most \(SessionActivity.maxStreamsPerParticipant) streams per participant")
        case .unknownStream: ErrorMessage(code: "unknown-stream", message: "no such stream was started")
        case .invalidField(let field), .overlay(.invalidField(let field)): ErrorMessage(code: "invalid-field", message: "invalid \(field)")
        case .overlay(.unknownShape): ErrorMessage(code: "unknown-shape", message: "no shape with that id")
        case .overlay(.overlayFull): ErrorMessage(code: "overlay-full", message: "at most \(OverlayState.maxShapes) shapes per stream")
        case .overlay(.notAuthor): ErrorMessage(code: "not-author", message: "only the author of a shape can change it")
        }
    }
}

extension TandemCloseCode {
    /// The identifier used in `error` messages, e.g. `unknown-code`.
    var identifier: String {
        switch self {
        case .normal: "session-ended"
        case .goingAway: "going-away"
        case .messageTooBig: "message-too-big"
        case .internalError: "internal-error"
        case .badRequest: "bad-request"
        case .unauthorized: "unauthorized"
        case .forbidden: "forbidden"
        case .unknownCode: "unknown-code"
        case .helloTimeout: "hello-timeout"
        case .codeUsed: "code-used"
        case .codeExpired: "code-expired"
        case .unsupportedVersion: "unsupported-version"
        case .slowConsumer: "slow-consumer"
        }
    }
}
