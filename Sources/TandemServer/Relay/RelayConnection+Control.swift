import Logging
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension RelayConnection {
    /// Handles one control message after the hello. Refusals are `error` replies; the connection stays open.
    func control(_ text: String, _ connection: ParticipantConnection, bound binding: Binding) async {
        let message: ControlMessage
        do {
            message = try ControlMessage.decode(text: text)
        } catch {
            connection.sendError(error.identifier, "control message refused: \(error)")
            return
        }
        if let watcher = binding.watcher {
            await supervisorControl(message, connection, bound: binding, watcher: watcher)
            return
        }
        let role = binding.role
        if role == .customer, message.isLoggedFromCustomer, !Self.alwaysAccepted(message, in: binding.session),
            !connection.loggedMessages.take(now: connection.activity.touch())
        {
            let limit = configuration.limits.customerLoggedRate
            connection.sendError(
                .rateLimited,
                "\(message.type) refused: a customer's consent, stream and freeze messages are limited to \(Int(limit.perSecond)) per second (burst \(Int(limit.burst))); nothing was changed or logged"
            )
            return
        }
        switch message {
        case .chat(var chat):
            guard Self.acceptable(chat, connection) else { return }
            chat.from = role
            relay(binding, connection, requiresPeer: true) { activity in
                activity.chatRelayed()
                return .success(.chat(chat))
            }
        case .streamStart(let start):
            let audio = start.codec.isAudio
            var detail = ["owner": role.rawValue, "streamId": String(start.streamID), "source": start.source.rawValue, "codec": start.codec.name]
            if !audio { detail["size"] = "\(start.width)x\(start.height)" }
            detail[audio ? "packetsPerSecond" : "fps"] = String(start.fps)
            // Voice is logged per side as audio.started / audio.stopped (§5.14).
            await relayRecorded(
                binding,
                connection,
                kind: audio ? .audioStarted : .streamStarted,
                detail: detail,
                requiresConsent: .media(audio: audio)
            ) {
                $0.start(start, by: role).map(ControlMessage.streamStart)
            }
        case .streamStop(let ref):
            var detail = ["owner": role.rawValue, "streamId": String(ref.streamID)]
            let audio = binding.session.isAudioStream(owner: role, streamID: ref.streamID)
            if audio { detail["reason"] = AudioStopReason.stopped.rawValue }
            await relayRecorded(binding, connection, kind: audio ? .audioStopped : .streamStopped, detail: detail) {
                $0.change(ref, by: role, stopping: true).map(ControlMessage.streamStop)
            }
        case .streamPause(let ref):
            await relayRecorded(binding, connection, kind: .streamPaused, detail: ["owner": role.rawValue, "streamId": String(ref.streamID)]) {
                $0.change(ref, by: role, stopping: false).map(ControlMessage.streamPause)
            }
        case .streamResume(let ref):
            await relayRecorded(
                binding,
                connection,
                kind: .streamResumed,
                detail: ["owner": role.rawValue, "streamId": String(ref.streamID)],
                requiresConsent: .stream(ref.streamID)
            ) {
                $0.change(ref, by: role, stopping: false).map(ControlMessage.streamResume)
            }
        case .streamControl(var control):
            control.origin = role == .agent ? .agent : .customer
            relay(binding, connection, requiresPeer: true) { _ in
                if let fps = control.fps, !(fps > 0 && fps <= 240) { return .failure(.invalidField("fps")) }
                if let quality = control.quality, !(quality > 0 && quality <= 1) { return .failure(.invalidField("quality")) }
                if let bitrate = control.bitrate, !StreamControl.bitrateRange.contains(bitrate) { return .failure(.invalidField("bitrate")) }
                return .success(.streamControl(control))
            }
        case .annotation(let annotation):
            relay(binding, connection) { $0.annotate(annotation, by: role, now: Date()).map(ControlMessage.annotation) }
        case .track(let track):
            relay(binding, connection) { $0.track(track, by: role).map(ControlMessage.track) }
        case .freeze(let freeze):
            let detail = ["owner": freeze.owner.rawValue, "streamId": String(freeze.streamID), "sequence": freeze.sequence.map(String.init) ?? "-"]
            await relayRecorded(binding, connection, kind: .freezeStarted, detail: detail) {
                $0.freeze(freeze, by: role, freezing: true).map(ControlMessage.freeze)
            }
        case .unfreeze(let freeze):
            await relayRecorded(
                binding,
                connection,
                kind: .freezeEnded,
                detail: ["owner": freeze.owner.rawValue, "streamId": String(freeze.streamID)]
            ) {
                $0.freeze(freeze, by: role, freezing: false).map(ControlMessage.unfreeze)
            }
        case .consent(let consent) where consent.isMicrophone:
            await recordMicrophoneConsent(consent, connection, bound: binding)
        case .consent(let consent):
            await recordConsent(consent, connection, bound: binding)
        case .voice(let voice):
            await changeVoice(voice, connection, bound: binding)
        case .sessionEnd(let end):
            if role == .customer, end.outcome != nil || end.note != nil {
                connection.sendError(.forbiddenField, "only the agent records an outcome")
                return
            }
            if let note = end.note, note.count > SessionEnd.maxNoteLength {
                connection.sendError(.invalidField, "note is limited to \(SessionEnd.maxNoteLength) characters")
                return
            }
            // A connection that was replaced or handed the session over no longer ends it.
            guard binding.session.outbox(for: role) === connection.outbox else { return }
            let reason: EndReason = role == .agent ? .agentEnded : .customerLeft
            await hub.end(binding.session, reason: reason, outcome: end.outcome, note: end.note)
        case .sessionTransfer(let request):
            await transfer(request, connection, bound: binding)
        case .supervisorRequest(let request):
            await askSupervisor(request, connection, bound: binding)
        case .hello, .sessionCreated, .sessionJoined, .peerJoined, .sessionEnded, .error, .overlaySnapshot, .sessionResumed, .peerAway, .peerBack,
            .queueStatus, .sessionAssigned, .sessionTransferred, .sessionWatching, .sessionPresence, .presenceSet, .presenceStatus, .queueOffer,
            .queueDecline, .queueWithdrawn, .queueCallback, .queueCallbackRecorded, .floorState:
            connection.sendError(.unexpectedMessage, "\(message.type) is not accepted here")
        }
    }

    /// A supervisor's message (§18): an observer only leaves (`session.end`); a participant
    /// also chats and draws, on the agent's side.
    private func supervisorControl(
        _ message: ControlMessage,
        _ connection: ParticipantConnection,
        bound binding: Binding,
        watcher: SessionWatcher
    ) async {
        switch message {
        case .sessionEnd:
            // Leaves; the session goes on.
            connection.outbox.finish(.normal)
        case .chat(var chat) where watcher.participate:
            guard Self.acceptable(chat, connection) else { return }
            chat.from = .agent
            chat.supervisor = watcher.name
            deliver(
                binding.session.relayFromSupervisor(watcher) { activity in
                    activity.chatRelayed()
                    return .success(.chat(chat))
                },
                connection
            )
        case .annotation(let annotation) where watcher.participate:
            let result = binding.session.relayFromSupervisor(watcher) {
                $0.annotate(annotation, by: .agent, now: Date()).map(ControlMessage.annotation)
            }
            if case .accepted(let message, _, _) = result { binding.session.recording?.control(from: .agent, message) }
            deliver(result, connection)
        case .chat, .annotation:
            connection.sendError(.observer, "you joined as an observer: you see everything but cannot draw or chat")
        default:
            connection.sendError(.unexpectedMessage, "\(message.type) is not accepted from a supervisor")
        }
    }

    /// What the customer's budget never refuses: taking back a consent it granted, and
    /// stopping a stream. Each needs an earlier grant or start (which the budget holds), so
    /// they stay bounded, and refusing them would leave the log saying the customer still
    /// shares. A "no" that withdraws nothing is counted like any other logged message.
    private static func alwaysAccepted(_ message: ControlMessage, in session: LiveSession) -> Bool {
        switch message {
        case .consent(let consent) where !consent.granted:
            consent.isMicrophone ? session.microphoneState.granted == true : session.customerMayShare
        case .streamStop:
            true
        default:
            false
        }
    }

    /// Whether a chat line is within its size limit; if not, the sender is told.
    private static func acceptable(_ chat: Chat, _ connection: ParticipantConnection) -> Bool {
        // A character is at least one byte: most lines need no count of characters (O(n)).
        guard chat.text.utf8.count > Chat.maxLength, chat.text.count > Chat.maxLength else { return true }
        connection.sendError(.invalidField, "chat text is limited to \(Chat.maxLength) characters")
        return false
    }

    /// Applies a control message to the session and relays what was accepted; refusals
    /// go back to the sender as `error`.
    private func relay(
        _ binding: Binding,
        _ connection: ParticipantConnection,
        requiresPeer: Bool = false,
        _ update: (inout SessionActivity) -> Result<ControlMessage, SessionActivity.Rejection>
    ) {
        let result = binding.session.relayControl(from: binding.role, sender: connection.outbox, requiresPeer: requiresPeer, update)
        if case .accepted(let message, _, _) = result { binding.session.recording?.control(from: binding.role, message) }
        deliver(result, connection)
    }

    /// Like ``relay(_:_:requiresPeer:_:)`` for messages that go into the audit log: the
    /// event is committed before the peer sees the message.
    private func relayRecorded(
        _ binding: Binding,
        _ connection: ParticipantConnection,
        kind: AuditEventKind,
        detail: [String: String],
        requiresConsent: LiveSession.ConsentNeed = .none,
        _ update: (inout SessionActivity) -> Result<ControlMessage, SessionActivity.Rejection>
    ) async {
        let result = binding.session.relayControl(from: binding.role, sender: connection.outbox, requiresConsent: requiresConsent, update)
        if case .accepted(let message, _, _) = result {
            guard await record(binding, connection, kind: kind, detail: detail) else { return }
            binding.session.recording?.control(from: binding.role, message)
        }
        deliver(result, connection)
    }

    func deliver(_ result: LiveSession.ControlRelay, _ connection: ParticipantConnection) {
        switch result {
        case .accepted(let message, let peer, let watchers):
            // Encoded once, the same buffer for every recipient.
            let encoded = message.jsonBuffer
            _ = peer?.enqueue(control: encoded)
            for watcher in watchers { _ = watcher.outbox.enqueue(control: encoded) }
        case .noPeer:
            connection.sendError(.noPeer, "nobody has joined yet")
        case .rejected(let rejection):
            connection.send(.error(rejection.errorMessage))
        case .ended:
            break
        }
    }

    /// `session.transfer` from the agent (§17). On success the agent's connection gets
    /// `session.transferred` and closes with 4302.
    private func transfer(_ request: TransferRequest, _ connection: ParticipantConnection, bound binding: Binding) async {
        guard binding.role == .agent, binding.session.outbox(for: .agent) === connection.outbox else {
            connection.sendError(.unexpectedMessage, "only the session's agent transfers it")
            return
        }
        do {
            switch try await hub.transfer(binding.session, request: request, by: binding.session.agentName) {
            case .pending:
                break
            case .invalid(let reason):
                connection.sendError(.invalidTransfer, reason)
            case .notTransferable:
                connection.sendError(.notTransferable, "only a live session with a customer, not already being transferred, can be handed over")
            case .queueFull:
                connection.sendError(.queueFull, "the queue is full; try again later")
            }
        } catch {
            logger.error("Could not transfer a session", metadata: ["tandem.session.id": "\(binding.session.id)"])
            connection.sendError(.internalError, "the broker could not log the transfer; nothing changed")
        }
    }

    /// `supervisor.request` (§20.5): the session's agent asks for help; listed on the floor.
    private func askSupervisor(_ request: SupervisorRequest, _ connection: ParticipantConnection, bound binding: Binding) async {
        guard binding.role == .agent, binding.session.outbox(for: .agent) === connection.outbox else {
            connection.sendError(.unexpectedMessage, "only the session's agent asks for a supervisor")
            return
        }
        if let note = request.note, note.count > SupervisorRequest.maxNoteLength {
            connection.sendError(.invalidField, "note is limited to \(SupervisorRequest.maxNoteLength) characters")
            return
        }
        do {
            switch try await hub.requestSupervisor(binding.session, note: request.note) {
            case .requested:
                break
            case .tooMany:
                connection.sendError(.rateLimited, "a session asks for a supervisor at most 10 times")
            }
        } catch {
            logger.error("Could not record a supervisor request", metadata: ["tandem.session.id": "\(binding.session.id)"])
            connection.sendError(.internalError, "the broker could not log the request; ask again")
        }
    }

    private func recordConsent(_ consent: Consent, _ connection: ParticipantConnection, bound binding: Binding) async {
        guard binding.role == .customer else {
            connection.sendError(.unexpectedMessage, "only the customer gives consent")
            return
        }
        guard let (messages, wasGranted) = binding.session.consent(consent) else { return }
        var detail = ["source": (consent.source ?? (binding.session.mode == .camera ? .camera : .screen)).rawValue]
        if wasGranted, !consent.granted { detail["withdrawn"] = "true" }
        let recording = binding.session.recording
        if recording != nil { detail["recording"] = consent.granted && consent.recording == true ? "agreed" : "refused" }
        let kind: AuditEventKind = consent.granted ? .consentGranted : .consentDenied
        guard await record(binding, connection, kind: kind, detail: detail) else { return }
        if let recording {
            if consent.granted, consent.recording == true {
                // Logged before the first entry is written.
                if !recording.wasStarted {
                    guard await record(binding, connection, kind: .recordingStarted, detail: ["file": binding.session.id + ".tdrec"]) else { return }
                }
                binding.session.startRecording()
            } else {
                recording.pause()
            }
        }
        logger.info(
            "Customer answered the consent question",
            metadata: ["tandem.session.id": "\(binding.session.id)", "tandem.consent": "\(consent.granted)"]
        )
        let agent = binding.session.outbox(for: .agent)
        for message in messages {
            _ = agent?.enqueue(message)
            binding.session.tellWatchers(message)
            binding.session.recording?.control(from: .customer, message)
        }
    }

    /// Commits an audit event of the binding's session; on failure tells the sender and returns false.
    func record(_ binding: Binding, _ connection: ParticipantConnection, kind: AuditEventKind, detail: [String: String]) async -> Bool {
        do {
            try await hub.store.recordEvent(
                sessionID: binding.session.id,
                kind: kind,
                actor: binding.session.actor(binding.role),
                detail: detail,
                at: Date()
            )
            return true
        } catch {
            logger.error("Could not record an audit event", metadata: ["tandem.session.id": "\(binding.session.id)", "tandem.event": "\(kind)"])
            connection.sendError(.internalError, "the broker could not log this; it was not relayed")
            return false
        }
    }
}

extension SessionActivity.Rejection {
    /// The `error` message that explains the refusal.
    var errorMessage: ErrorMessage {
        switch self {
        case .tooManyStreams:
            ErrorMessage(code: .tooManyStreams, message: "at most \(SessionActivity.maxStreamsPerParticipant) streams per participant")
        case .unknownStream: ErrorMessage(code: .unknownStream, message: "no such stream was started (or it stopped)")
        case .invalidField(let field), .overlay(.invalidField(let field)): ErrorMessage(code: .invalidField, message: "invalid \(field)")
        case .overlay(.unknownShape): ErrorMessage(code: .unknownShape, message: "no shape with that id")
        case .overlay(.overlayFull): ErrorMessage(code: .overlayFull, message: "at most \(OverlayState.maxShapes) shapes per stream")
        case .overlay(.overBudget):
            ErrorMessage(code: .overlayFull, message: "the session's annotations have reached their size limit; remove or clear some first")
        case .overlay(.notAuthor): ErrorMessage(code: .notAuthor, message: "only the author of a shape can change it")
        case .consentRequired: ErrorMessage(code: .consentRequired, message: "the customer has not agreed to share (send consent first)")
        case .voiceOff: ErrorMessage(code: .voiceOff, message: "voice is off in this session: the agent turns it on first (voice)")
        }
    }
}

extension TandemCloseCode {
    /// The identifier used in `error` messages, e.g. `unknown-code`.
    var identifier: ErrorCode {
        switch self {
        case .normal: .sessionEnded
        case .goingAway: .goingAway
        case .protocolError: .protocolError
        case .messageTooBig: .messageTooBig
        case .tryAgainLater: .tooManyPendingCodes
        case .internalError: .internalError
        case .badRequest: .badRequest
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .unknownCode: .unknownCode
        case .helloTimeout: .helloTimeout
        case .codeUsed: .codeUsed
        case .codeExpired: .codeExpired
        case .idle: .idle
        case .rateLimited: .rateLimited
        case .resumeRefused: .resumeRefused
        case .replaced: .replaced
        case .otherBroker: .otherBroker
        case .joinThrottled: .joinThrottled
        case .queueLimit: .queueLimit
        case .helpLinkRefused: .helpLinkInvalid
        case .unsupportedVersion: .unsupportedVersion
        case .slowConsumer: .slowConsumer
        case .queueEmpty: .queueEmpty
        case .unknownSession: .unknownSession
        case .handedOver: .handedOver
        }
    }
}
