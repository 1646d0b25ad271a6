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
/// participant's ``ParticipantOutbox``, and the hello timer.
struct RelayConnection {
    let hub: SessionHub
    let configuration: BrokerConfiguration
    let admission: WebSocketAdmission
    let statistics: BrokerStatistics
    var logger: Logger

    /// What the connection is bound to after a successful hello.
    struct Binding {
        var session: LiveSession
        var role: ParticipantRole
        /// Set for a supervisor (§18); `role` is then `agent`.
        var watcher: SessionWatcher? = nil
    }

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
            mediaCapacity: configuration.mediaQueueCapacity, controlCapacity: configuration.controlQueueCapacity, mediaMaxAge: limits.mediaMaxAge
        )
        guard
            let outbox = try? await channel.eventLoop.submit({ [statistics] in
                let ticket = try? channel.pipeline.syncOperations.handler(type: AdmissionTicketHandler.self).ticket
                let outbox = ParticipantOutbox(limits: mediaLimits, statistics: statistics, ticket: ticket)
                let writer = OutboxWriter(eventLoop: channel.eventLoop, outbox: outbox, activity: activity)
                try channel.pipeline.syncOperations.addHandler(writer, position: .last)
                outbox.attach(writer)
                return outbox
            }).get()
        else { return }  // Closed before it started.
        let timer = ConnectionTimer(
            eventLoop: channel.eventLoop,
            activity: activity,
            deadlines: ConnectionDeadlines(openedAt: .now, helloTimeout: limits.helloTimeout, idleTimeout: limits.idleTimeout, cutGrace: Self.slowConsumerGrace),
            actions: .init(
                refuseHello: { [self] in
                    refuse(.helloTimeout, outbox: outbox, message: "no hello within \(limits.helloTimeout.components.seconds) s (protocol/README.md §2)")
                },
                closeIdle: { outbox.abandon(.idle) },
                cutConnection: { [logger] in
                    // The recipient never took its close frame: cut the connection.
                    logger.debug("Cutting the connection of a participant that read too slowly")
                    channel.close(mode: .all, promise: nil)
                }
            )
        )
        outbox.onOverflow { timer.overflowed() }
        timer.start()
        hub.connectionOpened(outbox)
        defer {
            timer.connectionEnded()
            hub.connectionClosed(outbox)
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
            var (binding, waiter, violation) = await read(
                inbound: inbound, outbox: outbox, client: ClientAddress(channel.remoteAddress), activity: activity, timer: timer
            )
            timer.connectionEnded()
            if let waiter {
                // Still in the queue: it leaves. Taken just as it closed: it dropped out of its session.
                if let session = waiter.session {
                    binding = Binding(session: session, role: .customer)
                } else {
                    await hub.leaveQueue(waiter, reason: hub.isShuttingDown ? "broker-shutdown" : "customer-left")
                }
            }
            // The library sends the close for a WebSocket violation; the writer stops without one.
            if violation != nil { outbox.abandon(.protocolError) }
            if let binding, let watcher = binding.watcher {
                // A supervisor leaving never ends the session.
                await hub.unwatch(binding.session, watcher)
            } else if let binding {
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

    /// What a hello led to.
    enum Greeting {
        case bound(Binding)
        /// A customer waiting in the queue (§16) until an agent takes it.
        case queued(QueueWaiter)
        case refused
    }

    /// Reads until the connection closes. Returns the session it joined, if any, or the
    /// queue entry it waits in.
    private func read(
        inbound: WebSocketInboundStream,
        outbox: ParticipantOutbox,
        client: ClientAddress,
        activity: ConnectionActivity,
        timer: ConnectionTimer
    ) async -> (Binding?, QueueWaiter?, violation: (any Error)?) {
        var binding: Binding?
        var waiter: QueueWaiter?
        var logger = self.logger
        let limits = configuration.limits
        var controlRate = limits.controlRate.guardState
        var frameRate = limits.frameRate.guardState
        do {
            reading: for try await message in inbound.messages(maxSize: limits.maxMessageSize) {
                activity.touch()
                // The broker is closing this connection (the session ended, or was handed over): read no more.
                if outbox.closeCode != nil { break reading }
                if let queued = waiter, let session = queued.session {
                    binding = Binding(session: session, role: .customer)
                    waiter = nil
                    logger[metadataKey: "tandem.session.id"] = "\(session.id)"
                }
                guard let bound = binding else {
                    if waiter != nil {
                        // Waiting for an agent: only session.end (leave the queue) means something.
                        if case .text(let text) = message, case .sessionEnd = try? ControlMessage.decode(text: text) { break reading }
                        if case .text = message {
                            _ = outbox.enqueue(.error(ErrorMessage(code: .queued, message: "still waiting for an agent; messages are accepted once one takes the session")))
                        }
                        continue
                    }
                    switch await hello(message, outbox: outbox, client: client, logger: &logger) {
                    case .bound(let bound): binding = bound
                    case .queued(let queued): waiter = queued
                    case .refused: break
                    }
                    timer.helloHandled()
                    if binding == nil, waiter == nil { break }
                    continue
                }
                let now = activity.seconds
                switch message {
                case .binary(let buffer):
                    switch frameRate.message(now: now) {
                    case .accept:
                        relayMedia(buffer, binding: bound, outbox: outbox)
                    case .drop(let notify):
                        if notify { rateNotice(outbox: outbox, what: "frames", limit: limits.frameRate) }
                        // The frames after it may depend on it: receivers wait for a keyframe.
                        if let header = try? MediaFrameHeader.validate(message: buffer) {
                            bound.session.mediaLost(from: bound.role, sender: outbox, streamID: header.streamID)
                        }
                    case .close:
                        refuse(.rateLimited, outbox: outbox, message: "frames kept coming faster than \(Int(limits.frameRate.perSecond)) per second")
                        break reading
                    }
                case .text(let text):
                    switch controlRate.message(now: now) {
                    case .accept:
                        break
                    case .drop(let notify):
                        if notify { rateNotice(outbox: outbox, what: "control messages", limit: limits.controlRate) }
                        // Consent, streams starting or stopping, the end: never dropped, or the
                        // two sides would disagree about the session.
                        if case .some(let decoded) = try? ControlMessage.decode(text: text), decoded.changesSessionState { break }
                        continue reading
                    case .close:
                        refuse(.rateLimited, outbox: outbox, message: "control messages kept coming faster than \(Int(limits.controlRate.perSecond)) per second")
                        break reading
                    }
                    guard text.utf8.count <= limits.maxControlMessageSize else {
                        refuse(.messageTooBig, outbox: outbox, message: "control messages are limited to \(limits.maxControlMessageSize) bytes")
                        break reading
                    }
                    await control(text, binding: bound, outbox: outbox)
                }
            }
        } catch {
            logger.debug("Connection read ended", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            if Self.isWebSocketViolation(error) { return (binding, waiter, error) }
        }
        return (binding, waiter, nil)
    }

    // MARK: hello

    private func hello(_ message: WebSocketMessage, outbox: ParticipantOutbox, client: ClientAddress, logger: inout Logger) async -> Greeting {
        guard case .text(let text) = message, text.utf8.count <= configuration.limits.helloMessageSize,
            case .hello(let hello) = try? ControlMessage.decode(text: text)
        else {
            refuse(.badRequest, outbox: outbox, message: "the first message must be a hello (protocol/README.md §5.1)")
            return .refused
        }
        guard hello.protocolVersion == TandemWire.version else {
            refuse(.unsupportedVersion, outbox: outbox, message: "this broker speaks protocol \(TandemWire.version)")
            return .refused
        }
        do {
            if let token = hello.resume {
                switch try await hub.resume(token: token, role: hello.role, client: client, outbox: outbox) {
                case .resumed(let session):
                    // A returning agent leaves the anonymous budget as at its first hello (its
                    // resume token proved it); if the agents' budget is full it keeps its slot.
                    if hello.role == .agent, let ticket = outbox.ticket { _ = admission.authenticate(ticket) }
                    logger[metadataKey: "tandem.session.id"] = "\(session.id)"
                    logger[metadataKey: "tandem.ticket"] = "\(session.ticket)"
                    return .bound(Binding(session: session, role: hello.role))
                case .rejected:
                    refuse(.resumeRefused, outbox: outbox, message: "the session cannot be resumed: it ended, the grace period passed, or the token is unknown")
                    return .refused
                case .throttled(let retryAfter, let scope):
                    let who = scope == .network ? "from your network" : "on this service"
                    refuse(
                        .joinThrottled, outbox: outbox, message: "too many failed resumes \(who) lately; try again in \(retryAfter) s",
                        retryAfter: retryAfter, identifier: .resumeThrottled
                    )
                    return .refused
                }
            }
            switch hello.role {
            case .agent where hello.watch != nil:
                return try await watchSession(hello, outbox: outbox, logger: &logger).map(Greeting.bound) ?? .refused
            case .agent where hello.take != nil:
                return try await takeSession(hello, outbox: outbox, logger: &logger).map(Greeting.bound) ?? .refused
            case .agent:
                return try await openSession(hello, outbox: outbox, logger: &logger).map(Greeting.bound) ?? .refused
            case .customer where hello.queue != nil && hello.code == nil:
                return try await enterQueue(hello, outbox: outbox, address: client).map(Greeting.queued) ?? .refused
            case .customer:
                return try await joinSession(hello, outbox: outbox, address: client, logger: &logger).map(Greeting.bound) ?? .refused
            }
        } catch {
            logger.error("Hello failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            outbox.abandon(.internalError)
            return .refused
        }
    }

    /// Sends an `error` explaining the refusal, then closes with `code`. With an `identifier`
    /// other than the code's own (e.g. `queue-full` for 1013), the close reason is that
    /// identifier in words rather than the code's usual reason.
    func refuse(_ code: TandemCloseCode, outbox: ParticipantOutbox, message: String, retryAfter: Int? = nil, redirect: String? = nil, identifier: ErrorCode? = nil) {
        _ = outbox.enqueue(.error(ErrorMessage(code: identifier ?? code.identifier, message: message, retryAfter: retryAfter, redirect: redirect)))
        outbox.finish(code, reason: identifier.map { $0.rawValue.replacingOccurrences(of: "-", with: " ") })
    }

    /// Tells a sender over its rate that messages are being dropped (at most once a second).
    private func rateNotice(outbox: ParticipantOutbox, what: String, limit: RateLimit) {
        let message = "\(what) beyond \(Int(limit.perSecond)) per second (burst \(Int(limit.burst))) are dropped; keep it up and the connection is closed"
        _ = outbox.enqueue(.error(ErrorMessage(code: .rateLimited, message: message)))
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
        guard binding.watcher == nil else {
            _ = outbox.enqueue(.error(ErrorMessage(code: .supervisor, message: "supervisors do not send media")))
            return
        }
        let route: LiveSession.MediaRoute
        switch binding.session.relayMedia(from: binding.role, sender: outbox, streamID: header.streamID, bytes: buffer.readableBytes) {
        case .success(let found):
            route = found
        case .failure(.noConsent):
            _ = outbox.enqueue(.error(SessionActivity.Rejection.consentRequired.errorMessage))
            return
        case .failure:
            return
        }
        statistics.metrics.relayed(from: binding.role.rawValue, bytes: buffer.readableBytes)
        binding.session.recording?.media(from: binding.role, message: buffer)
        let result = route.peer.enqueue(media: buffer, streamID: header.streamID, keyframe: header.isKeyframe)
        if !result.dropped.isEmpty {
            binding.session.framesDropped(owner: binding.role, result.dropped)
        }
        var keyframeRequests = result.keyframeRequests
        // Supervisors get the same buffer (no copy); their drops are not the session's.
        for watcher in route.watchers {
            for streamID in watcher.outbox.enqueue(media: buffer, streamID: header.streamID, keyframe: header.isKeyframe).keyframeRequests
            where !keyframeRequests.contains(streamID) {
                keyframeRequests.append(streamID)
            }
        }
        for streamID in keyframeRequests {
            // The publisher is this connection: ask it for a keyframe.
            _ = outbox.enqueue(.streamControl(StreamControl(streamID: streamID, action: .keyframe, origin: .broker)))
        }
    }
}
