import Atomics
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
/// participant's ``ParticipantOutbox``, and the hello timer. What the reader knows about the
/// connection (its outbox, what its hello led to, its rate guards) is a ``ParticipantConnection``.
struct RelayConnection {
    let hub: SessionHub
    let configuration: BrokerConfiguration
    let admission: WebSocketAdmission
    let statistics: BrokerStatistics
    var logger: Logger

    /// What the connection is bound to after a successful hello.
    typealias Binding = ParticipantConnection.Binding

    /// How long a participant that overflowed its control queue gets to take the close frame
    /// before its connection is cut.
    static let slowConsumerGrace: Duration = .seconds(2)

    /// Runs the connection. Throws the WebSocket library's error when the peer broke the
    /// WebSocket protocol (bad framing, invalid UTF-8 text), so the library closes with the
    /// code RFC 6455 asks for (1002, 1007) instead of the relay's own close.
    ///
    /// This task reads. The participant's ``ParticipantOutbox`` is written by an
    /// ``OutboxWriter`` on the channel's event loop; the hello, idle and slow-consumer
    /// deadlines are one ``ConnectionTimer`` there. One child task waits for the close.
    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, channel: any Channel) async throws {
        let activity = ConnectionActivity()
        let limits = configuration.limits
        let mediaLimits = ParticipantOutbox.Limits(
            mediaCapacity: configuration.mediaQueueCapacity,
            controlCapacity: configuration.controlQueueCapacity,
            mediaMaxAge: limits.mediaMaxAge
        )
        guard
            let outbox = try? await channel.eventLoop.submit({ [statistics] in
                let ticket = try? channel.pipeline.syncOperations.handler(type: AdmissionTicketHandler.self).ticket
                let outbox = ParticipantOutbox(limits: mediaLimits, statistics: statistics, ticket: ticket)
                let writer = OutboxWriter(eventLoop: channel.eventLoop, outbox: outbox, activity: activity, flushThreshold: limits.writeQueueBytes)
                // What the writer hands on before it waits for the connection: small, so that
                // on a slow path frames wait in the outbox (audio first, stale video dropped).
                let watermark = ChannelOptions.Types.WriteBufferWaterMark(low: limits.writeQueueBytes / 2, high: limits.writeQueueBytes)
                try? channel.syncOptions?.setOption(ChannelOptions.writeBufferWaterMark, value: watermark)
                // Before the WebSocket library's handler, to see the close frames both ways.
                let pipeline = channel.pipeline.syncOperations
                if let unmasker = try? pipeline.handler(type: WebSocketUnmasker.self) {
                    try pipeline.addHandler(writer, position: .after(unmasker))
                } else {
                    try pipeline.addHandler(writer, position: .last)
                }
                outbox.attach(writer)
                return outbox
            }).get()
        else { return }  // Closed before it started.
        let timer = ConnectionTimer(
            eventLoop: channel.eventLoop,
            activity: activity,
            deadlines: ConnectionDeadlines(
                openedAt: .now,
                helloTimeout: limits.helloTimeout,
                idleTimeout: limits.idleTimeout,
                cutGrace: Self.slowConsumerGrace
            ),
            actions: .init(
                refuseHello: {
                    ParticipantConnection.refuse(
                        .helloTimeout,
                        outbox: outbox,
                        message: "no hello within \(limits.helloTimeout.components.seconds) s (protocol/README.md §2)"
                    )
                },
                closeIdle: { outbox.abandon(.idle) },
                cutConnection: { [logger] in
                    // The recipient never took its close frame: cut the connection.
                    logger.debug("Cutting the connection of a participant that read too slowly")
                    channel.close(mode: .all, promise: nil)
                }
            )
        )
        let connection = ParticipantConnection(
            outbox: outbox,
            activity: activity,
            timer: timer,
            client: ClientAddress(channel.remoteAddress),
            limits: limits,
            logger: logger
        )
        outbox.onOverflow { timer.overflowed() }
        timer.start()
        hub.connectionOpened(outbox)
        defer {
            timer.connectionEnded()
            hub.connectionClosed(outbox)
            // Breaks outbox → writer/timer → channel, which would keep the connection alive.
            outbox.detach()
        }
        let violation = await withTaskGroup(of: Void.self) { group -> (any Error)? in
            group.addTask {
                // Sends the close once the writer has written everything queued before it.
                // After a WebSocket violation the library sends the close (1002/1007).
                let (code, reason) = await outbox.closing()
                if code != .protocolError {
                    try? await outbound.close(.init(codeNumber: Int(code.rawValue)), reason: reason)
                }
            }
            let violation = await read(inbound: inbound, connection)
            timer.readEnded()
            if let waiter = connection.waiter {
                // Still in the queue: it leaves. Taken just as it closed: it dropped out of its session.
                if let session = waiter.session {
                    connection.bind(Binding(session: session, role: .customer))
                } else {
                    await hub.leaveQueue(waiter, reason: hub.isShuttingDown ? "broker-shutdown" : "customer-left")
                }
            }
            if let name = connection.presenceAgent { await hub.goOffline(name, outbox: outbox) }
            if connection.isFloor { await hub.floorClosed(outbox) }
            // The library sends the close for a WebSocket violation; the writer stops without one.
            if violation != nil { outbox.abandon(.protocolError) }
            if let binding = connection.binding, let watcher = binding.watcher {
                // A supervisor leaving never ends the session.
                await hub.unwatch(binding.session, watcher)
            } else if let binding = connection.binding {
                if hub.isShuttingDown {
                    await hub.end(binding.session, reason: .brokerShutdown)
                } else if outbox.closeCode == .slowConsumer {
                    logger.warning("Disconnected a participant that read too slowly", metadata: ["tandem.role": "\(binding.role.rawValue)"])
                    await hub.end(binding.session, reason: .slowConsumer)
                } else if [.rateLimited, .messageTooBig, .protocolError].contains(outbox.closeCode) {
                    await hub.end(binding.session, reason: .protocolViolation)
                } else if outbox.closeCode != .replaced, outbox.closeCode != .handedOver {
                    // Dropped without session.end: away for the grace period (§5.13).
                    await hub.disconnected(binding.session, role: binding.role, outbox: outbox)
                }
            }
            // Let the writer deliver what is queued (a refusal, session.ended) and the close frame.
            outbox.finish(.normal)
            await group.waitForAll()
            return violation
        }
        if let violation { throw violation }
    }

    /// Reads until the connection closes, leaving in `connection` the session it joined, if
    /// any, or the queue entry it waits in. Returns the error when the peer broke the
    /// WebSocket protocol.
    private func read(inbound: WebSocketInboundStream, _ connection: ParticipantConnection) async -> (any Error)? {
        let limits = configuration.limits
        let outbox = connection.outbox
        do {
            reading: for try await message in inbound.messages(maxSize: limits.maxMessageSize) {
                let now = connection.activity.touch()
                // The broker is closing this connection (the session ended, or was handed over): read no more.
                if outbox.closeCode != nil { break reading }
                if let queued = connection.waiter, let session = queued.session {
                    connection.bind(Binding(session: session, role: .customer))
                }
                guard let bound = connection.binding else {
                    if connection.waiter != nil || connection.presenceAgent != nil || connection.isFloor {
                        // Waiting in the queue, or a presence or floor connection: held to the
                        // control rate and size like any participant (§13); binary frames count
                        // against the rate too, and are not read.
                        switch connection.controlRate.message(now: now) {
                        case .accept: break
                        case .drop: continue reading
                        case .close:
                            connection.refuse(
                                .rateLimited,
                                message: "messages kept coming faster than \(Int(limits.controlRate.perSecond)) per second"
                            )
                            break reading
                        }
                        guard case .text(let text) = message else {
                            connection.sendError(.unexpectedMessage, "no media before a session")
                            continue
                        }
                        guard text.utf8.count <= limits.maxControlMessageSize else {
                            connection.refuse(.messageTooBig, message: "control messages are limited to \(limits.maxControlMessageSize) bytes")
                            break reading
                        }
                        if let waiter = connection.waiter {
                            // Waiting for an agent: only session.end (leave the queue) and a callback request mean something.
                            switch try? ControlMessage.decode(text: text) {
                            case .sessionEnd:
                                break reading
                            case .queueCallback(let callback):
                                if await requestCallback(callback, waiter: waiter, connection) { break reading }
                            default:
                                connection.sendError(.queued, "still waiting for an agent; messages are accepted once one takes the session")
                            }
                        } else {
                            await unboundControl(text, connection)
                        }
                        continue
                    }
                    connection.timer.helloReceived()
                    switch await hello(message, connection) {
                    case .bound(let bound): connection.bind(bound)
                    case .queued(let queued): connection.waiter = queued
                    case .present(let name): connection.presenceAgent = name
                    case .floor: connection.isFloor = true
                    case .refused: break
                    }
                    if connection.binding == nil, connection.waiter == nil, connection.presenceAgent == nil, !connection.isFloor { break }
                    continue
                }
                switch message {
                case .binary(let buffer):
                    switch connection.frameRate.message(now: now) {
                    case .accept:
                        relayMedia(buffer, connection, bound: bound)
                    case .drop(let notify):
                        if notify { rateNotice(connection, what: "frames", limit: limits.frameRate) }
                        // The frames after it may depend on it: receivers wait for a keyframe.
                        if let header = try? MediaFrameHeader.validate(message: buffer) {
                            bound.session.mediaLost(from: bound.role, sender: outbox, streamID: header.streamID)
                        }
                    case .close:
                        connection.refuse(.rateLimited, message: "frames kept coming faster than \(Int(limits.frameRate.perSecond)) per second")
                        break reading
                    }
                case .text(let text):
                    switch connection.controlRate.message(now: now) {
                    case .accept:
                        break
                    case .drop(let notify):
                        if notify { rateNotice(connection, what: "control messages", limit: limits.controlRate) }
                        // Consent, streams starting or stopping, the end: never dropped, or the
                        // two sides would disagree about the session.
                        if case .some(let decoded) = try? ControlMessage.decode(text: text), decoded.changesSessionState { break }
                        continue reading
                    case .close:
                        connection.refuse(
                            .rateLimited,
                            message: "control messages kept coming faster than \(Int(limits.controlRate.perSecond)) per second"
                        )
                        break reading
                    }
                    guard text.utf8.count <= limits.maxControlMessageSize else {
                        connection.refuse(.messageTooBig, message: "control messages are limited to \(limits.maxControlMessageSize) bytes")
                        break reading
                    }
                    await control(text, connection, bound: bound)
                }
            }
        } catch {
            connection.logger.debug("Connection read ended", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            if Self.isWebSocketViolation(error) { return error }
        }
        return nil
    }

    /// Tells a sender over its rate that messages are being dropped (at most once a second).
    private func rateNotice(_ connection: ParticipantConnection, what: String, limit: RateLimit) {
        let message =
            "\(what) beyond \(Int(limit.perSecond)) per second (burst \(Int(limit.burst))) are dropped; keep it up and the connection is closed"
        connection.sendError(.rateLimited, message)
    }

    // MARK: relaying

    private func relayMedia(_ buffer: ByteBuffer, _ connection: ParticipantConnection, bound binding: Binding) {
        let header: MediaFrameHeader
        do {
            header = try MediaFrameHeader.validate(message: buffer)
        } catch {
            connection.sendError(error.identifier, "binary frame dropped: \(error)")
            return
        }
        guard binding.watcher == nil else {
            connection.sendError(.supervisor, "supervisors do not send media")
            return
        }
        // Audio's lane holds 10 frames per receiver; an Opus packet is a few hundred bytes.
        if header.codec.isAudio, Int(header.payloadLength) > MediaFrameHeader.maxAudioPayload {
            connection.sendError(.audioFrameTooLarge, "audio frames are limited to \(MediaFrameHeader.maxAudioPayload / 1024) KiB of payload")
            return
        }
        let route: LiveSession.MediaRoute
        let audio = header.codec.isAudio
        switch binding.session.relayMedia(
            from: binding.role,
            sender: connection.outbox,
            streamID: header.streamID,
            bytes: buffer.readableBytes,
            audio: audio
        )
        {
        case .success(let found):
            route = found
        case .failure(.noConsent) where audio:
            connection.sendError(.consentRequired, "the customer has not agreed to its microphone (consent with source microphone, §5.14)")
            return
        case .failure(.noConsent):
            connection.send(.error(SessionActivity.Rejection.consentRequired.errorMessage))
            return
        case .failure(.voiceOff):
            connection.send(.error(SessionActivity.Rejection.voiceOff.errorMessage))
            return
        case .failure:
            return
        }
        statistics.metrics.relayed(from: binding.role.rawValue, bytes: buffer.readableBytes)
        binding.session.recording?.media(from: binding.role, message: buffer)
        let result = route.peer.enqueue(media: buffer, streamID: header.streamID, keyframe: header.isKeyframe, audio: audio)
        if !result.dropped.isEmpty {
            binding.session.framesDropped(owner: binding.role, result.dropped)
        }
        var keyframeRequests = result.keyframeRequests
        // Supervisors get the same buffer (no copy); their drops are not the session's.
        for watcher in route.watchers {
            for streamID in watcher.outbox.enqueue(media: buffer, streamID: header.streamID, keyframe: header.isKeyframe, audio: audio)
                .keyframeRequests
            where !keyframeRequests.contains(streamID) {
                keyframeRequests.append(streamID)
            }
        }
        for streamID in keyframeRequests {
            // The publisher is this connection: ask it for a keyframe.
            connection.send(.streamControl(StreamControl(streamID: streamID, action: .keyframe, origin: .broker)))
        }
    }
}
