import NIOConcurrencyHelpers
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A session while it is in the broker's memory: its state machine and the outboxes of
/// its participants. Every method takes one short lock; the relay hot path calls only
/// ``relay(from:bytes:)``.
final class LiveSession: Sendable {
    let id: String
    let ticket: String
    let mode: SessionMode
    /// The customer's tier: from the queue (§16); `standard` for a session opened with a code.
    let tier: SupportTier
    /// Set when the agent asked to record the session (§19).
    let recording: SessionRecording?
    let createdAt: Date
    let expiresAt: Date

    struct State {
        var machine: SessionStateMachine
        var activity = SessionActivity()
        /// The connected participants; nil while away (or, for the customer, before the join).
        var outboxes: [ParticipantRole: ParticipantOutbox] = [:]
        /// The customer was told once that its media is dropped for lack of consent.
        var toldNoConsent = false
        /// Who was told once that its audio is dropped because voice is off (§5.14).
        var toldVoiceOff: Set<ParticipantRole> = []
        /// The agent in the session now (it changes with a transfer, §17).
        var agent: String
        /// Supervisors watching or taking part (§18).
        var watchers: [SessionWatcher] = []
    }

    let state: NIOLockedValueBox<State>

    /// `customerJoinedAt` is set for a customer taken from the queue (§16): the session is
    /// live from the start, without a join code.
    init(
        record: SessionRecord,
        tier: SupportTier = .standard,
        recording: SessionRecording? = nil,
        overlayLimits: OverlayLimits = OverlayLimits(),
        customerJoinedAt: Date? = nil,
        agentOutbox: ParticipantOutbox
    ) {
        self.id = record.id
        self.recording = recording
        self.ticket = record.ticket
        self.tier = tier
        self.mode = record.mode
        self.createdAt = record.createdAt
        self.expiresAt = record.expiresAt
        let machine = customerJoinedAt.map { SessionStateMachine(customerJoinedAt: $0) } ?? SessionStateMachine(expiresAt: record.expiresAt)
        self.state = NIOLockedValueBox(
            State(
                machine: machine,
                activity: SessionActivity(overlayLimits: overlayLimits),
                outboxes: [.agent: agentOutbox],
                agent: record.agent
            )
        )
    }

    /// The agent in the session now.
    var agentName: String { state.withLockedValue { $0.agent } }

    /// Someone asks to end the session for `reason`. An ending carries the session's activity counts.
    func end(reason: EndReason, outcome: SessionOutcome?, note: String?, at: Date) -> SessionStateMachine.EndRequestedAction {
        state.withLockedValue { state in
            let action = state.machine.endRequested(reason: reason, outcome: outcome, note: note, at: at)
            switch action {
            case .end(var ending):
                ending.include(state.activity)
                return .end(ending)
            case .alreadyEnded:
                return action
            }
        }
    }

    /// Time passed (the sweeper): the session may end because its code expired, an away
    /// participant did not come back or nobody took its transfer. An ending carries the
    /// session's activity counts.
    func tick(now: Date) -> SessionStateMachine.TickAction {
        state.withLockedValue { state in
            let action = state.machine.tick(now: now)
            switch action {
            case .end(var ending):
                ending.include(state.activity)
                return .end(ending)
            case .none:
                return action
            }
        }
    }

    /// The customer asks to join. On `.admit`, call ``attachCustomer(_:welcome:now:)``
    /// once the join is logged.
    func admit(at: Date) -> SessionStateMachine.CustomerJoinedAction {
        state.withLockedValue { $0.machine.customerJoined(at: at) }
    }

    /// Starts delivering to the customer: the welcome, then the agent's streams and every
    /// overlay, then live traffic. Done under the session's lock, so nothing live overtakes
    /// the snapshot.
    func attachCustomer(_ outbox: ParticipantOutbox, welcome: SessionJoined, now: Date) {
        state.withLockedValue { state in
            _ = outbox.enqueue(.sessionJoined(welcome))
            for message in state.catchUp(for: .customer, now: now) { _ = outbox.enqueue(message) }
            state.outboxes[.customer] = outbox
        }
    }

    /// `outbox`'s connection of `role` dropped without `session.end`. Returns the machine's
    /// action (`.awaitReturn` detaches the outbox), or nil when `outbox` is no longer the
    /// role's connection (a newer one replaced it).
    func drop(_ role: ParticipantRole, outbox: ParticipantOutbox, at: Date, until: Date) -> SessionStateMachine.ParticipantDroppedAction? {
        state.withLockedValue { state in
            guard state.outboxes[role] === outbox else { return nil }
            let action = state.machine.participantDropped(role, at: at, until: until)
            switch action {
            case .awaitReturn:
                state.outboxes[role] = nil
                return action
            case .end(var ending):
                ending.include(state.activity)
                return .end(ending)
            case .alreadyEnded:
                return action
            }
        }
    }

    /// A participant of `role` reconnected with its resume token. If its old connection is
    /// still attached (not yet found dead), the new one takes over and the old outbox is
    /// returned to be closed. On success `welcome` and then the peer's streams and every
    /// overlay are queued before any live message, and the result says since when the
    /// participant was away (`at` when it replaced a live connection); nil when the resume
    /// is refused.
    func resume(
        _ role: ParticipantRole,
        outbox: ParticipantOutbox,
        at: Date,
        welcome: (_ peerPresent: Bool, _ agent: String) -> SessionResumed
    ) -> (awaySince: Date, replaced: ParticipantOutbox?)? {
        state.withLockedValue { state in
            let replaced = state.outboxes[role]
            let awaySince: Date
            if replaced != nil {
                switch state.machine.participantReplaced(role) {
                case .takeOver: awaySince = at
                case .reject: return nil
                }
            } else {
                switch state.machine.participantReturned(role, at: at) {
                case .resume(let since): awaySince = since
                case .reject: return nil
                }
            }
            // Called under the session's lock: it gets the agent's name rather than reading it.
            var resumed = welcome(state.outboxes[role.peer] != nil, state.agent)
            resumed.codecs = state.outboxes[role.peer]?.codecs
            _ = outbox.enqueue(.sessionResumed(resumed))
            for message in state.catchUp(for: role, now: at) { _ = outbox.enqueue(message) }
            state.outboxes[role] = outbox
            return (awaySince: awaySince, replaced: replaced)
        }
    }

    /// When the earliest grace period of an away participant ends.
    var awayDeadline: Date? { state.withLockedValue { $0.machine.awayDeadline } }

    /// Counts a media frame and returns the outbox it must go to, or the reason to drop it.
    /// A customer frame without consent fails with `.noConsent` the first time (the customer
    /// is told once) and with `.noPeer` after that.
    /// Where a relayed media frame goes: the peer, and every supervisor.
    struct MediaRoute {
        var peer: ParticipantOutbox
        var watchers: [SessionWatcher]
    }

    func relayMedia(
        from role: ParticipantRole,
        sender: ParticipantOutbox,
        streamID: UInt16,
        bytes: Int,
        audio: Bool = false
    ) -> Result<MediaRoute, SessionStateMachine.DropReason> {
        state.withLockedValue { state in
            // A connection that was replaced or handed the session over no longer speaks for `role`.
            guard state.outboxes[role] === sender else { return .failure(.ended) }
            let route: Result<ParticipantOutbox, SessionStateMachine.DropReason> =
                switch state.machine.mediaReceived(from: role, bytes: bytes, audio: audio) {
                case .forward(let peer): state.forward(to: peer)
                case .drop(let reason): .failure(reason)
                }
            switch route {
            case .success(let peer):
                state.activity.frameRelayed(StreamKey(owner: role, streamID: streamID), bytes: bytes)
                return .success(MediaRoute(peer: peer, watchers: state.watchers))
            case .failure(.noConsent):
                if state.toldNoConsent { return .failure(.noPeer) }
                state.toldNoConsent = true
                return .failure(.noConsent)
            case .failure(.voiceOff):
                if state.toldVoiceOff.contains(role) { return .failure(.noPeer) }
                state.toldVoiceOff.insert(role)
                return .failure(.voiceOff)
            case .failure(let reason):
                return .failure(reason)
            }
        }
    }

    /// A frame `role` sent on `streamID` was dropped on the way in (over its rate): its
    /// receivers skip the stream to its next keyframe, and the drop is counted as theirs would be.
    func mediaLost(from role: ParticipantRole, sender: ParticipantOutbox, streamID: UInt16) {
        let receivers = state.withLockedValue { state -> [ParticipantOutbox] in
            guard state.outboxes[role] === sender else { return [] }
            return [state.outboxes[role.peer]].compactMap { $0 } + state.watchers.map(\.outbox)
        }
        guard !receivers.isEmpty else { return }
        for receiver in receivers { receiver.skipToKeyframe(streamID: streamID) }
        framesDropped(owner: role, [streamID: 1])
    }

    /// The customer answers the consent question. Returns what to relay to the agent (the
    /// consent, and stops of the customer's streams when consent is withdrawn), whether it
    /// had been granted before, or nil when the session is not live.
    func consent(_ consent: Consent) -> (messages: [ControlMessage], wasGranted: Bool)? {
        state.withLockedValue { state in
            let wasGranted = state.machine.customerMayShare
            switch state.machine.consentReceived(granted: consent.granted) {
            case .forwardToAgent: break
            case .noPeer, .ended: return nil
            }
            if consent.granted { state.toldNoConsent = false }
            let stops = consent.granted ? [] : state.activity.stopAll(owner: .customer, audio: false).map(ControlMessage.streamStop)
            return ([.consent(consent)] + stops, wasGranted)
        }
    }

    /// What a stream message needs before it is relayed (§5.12, §5.14).
    enum ConsentNeed {
        case none
        /// A stream starting: video needs the customer's consent to share, audio needs voice
        /// on and (from the customer) its consent to the microphone.
        case media(audio: Bool)
        /// A stream resuming: as for its announced codec.
        case stream(UInt16)
    }

    /// What became of a control message handed to ``relayControl(from:_:)``.
    enum ControlRelay {
        /// Accepted; send `message` to `peer` (nil when nobody else is connected yet) and to
        /// the supervisors.
        case accepted(ControlMessage, peer: ParticipantOutbox?, watchers: [SessionWatcher])
        case rejected(SessionActivity.Rejection)
        /// Refused because nobody else is connected yet (only with `requiresPeer`).
        case noPeer
        case ended
    }

    /// Applies a control message from `role` to the session's activity (overlays, streams,
    /// counts) with `update`, and returns what to relay to whom.
    func relayControl(
        from role: ParticipantRole,
        sender: ParticipantOutbox,
        requiresPeer: Bool = false,
        requiresConsent: ConsentNeed = .none,
        _ update: (inout SessionActivity) -> Result<ControlMessage, SessionActivity.Rejection>
    ) -> ControlRelay {
        state.withLockedValue { state in
            guard !state.machine.isEnded, state.outboxes[role] === sender else { return .ended }
            if requiresPeer, state.outboxes[role.peer] == nil { return .noPeer }
            if let rejection = state.refusal(requiresConsent, from: role) { return .rejected(rejection) }
            switch update(&state.activity) {
            case .failure(let rejection):
                return .rejected(rejection)
            case .success(let message):
                switch state.machine.controlReceived(from: role) {
                case .forward(let peer): return .accepted(message, peer: state.outboxes[peer], watchers: state.watchers)
                case .noPeer: return .accepted(message, peer: nil, watchers: state.watchers)
                case .ended: return .ended
                }
            }
        }
    }

    /// Records frames a slow receiver did not get.
    func framesDropped(owner: ParticipantRole, _ dropped: [UInt16: Int]) {
        state.withLockedValue { state in
            for (streamID, count) in dropped { state.activity.framesDropped(StreamKey(owner: owner, streamID: streamID), count: count) }
        }
    }

    func outbox(for role: ParticipantRole) -> ParticipantOutbox? {
        state.withLockedValue { $0.outboxes[role] }
    }

    var traffic: SessionTraffic { state.withLockedValue { $0.machine.traffic } }
    /// Budget bytes of the annotations the session keeps (protocol/README.md §5.10).
    var overlayBytes: Int { state.withLockedValue { $0.activity.overlayBytes } }
    /// Who a message from `role` is attributed to in the audit log.
    func actor(_ role: ParticipantRole) -> String { role == .agent ? agentName : "customer" }
    /// Whether the session can be handed over now: live with a customer, its agent connected,
    /// no transfer pending.
    var canTransfer: Bool {
        state.withLockedValue { state in
            guard case .live = state.machine.state, state.machine.transfer == nil else { return false }
            return state.outboxes[.agent] != nil
        }
    }
    /// Whether a transfer waits for an agent.
    var isTransferring: Bool { state.withLockedValue { $0.machine.transfer != nil } }
    var isEnded: Bool { state.withLockedValue { $0.machine.isEnded } }
}

extension LiveSession.State {
    /// The outbox a `.forward(to:)` action points at, or `.noPeer` when `role` is not connected.
    fileprivate func forward(to role: ParticipantRole) -> Result<ParticipantOutbox, SessionStateMachine.DropReason> {
        guard let outbox = outboxes[role] else { return .failure(.noPeer) }
        return .success(outbox)
    }
}
