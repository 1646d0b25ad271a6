import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Voice (protocol/README.md §5.14): the agent turns it on or off, the customer answers for
/// its microphone, and what stream messages need before they go out.
extension LiveSession {
    /// What the customer's answer about its microphone (§5.14) led to.
    enum MicrophoneAnswer {
        /// Log and relay `messages` to the agent (the consent, then stops of the customer's
        /// audio streams `stopped` when a grant was withdrawn).
        case relay(messages: [ControlMessage], stopped: [StreamRef], withdrawn: Bool)
        case voiceOff
        case notLive
    }

    /// The customer answers "may the agent hear you?".
    func microphoneConsent(_ consent: Consent) -> MicrophoneAnswer {
        state.withLockedValue { state in
            switch state.machine.microphoneConsentReceived(granted: consent.granted) {
            case .forwardToAgent(let withdrawn):
                if consent.granted { state.toldNoConsent = false }
                let stops = consent.granted ? [] : state.activity.stopAll(owner: .customer, audio: true)
                return .relay(messages: [.consent(consent)] + stops.map(ControlMessage.streamStop), stopped: stops, withdrawn: withdrawn)
            case .voiceOff:
                return .voiceOff
            case .noPeer, .ended:
                return .notLive
            }
        }
    }

    /// What the agent's `voice` message led to.
    enum VoiceChange {
        /// Log it; relay `voice` to the customer (and supervisors). `stopped` audio streams
        /// (voice went off) are told to the other side of each.
        case changed(stopped: [StreamRef])
        case unchanged
        case ended
    }

    /// The agent turns voice on or off (§5.14). Relays under the lock, so the customer hears
    /// of it before any later message.
    func voice(_ voice: Voice, sender: ParticipantOutbox) -> VoiceChange {
        state.withLockedValue { state in
            guard state.outboxes[.agent] === sender else { return .ended }
            switch state.machine.voiceChanged(enabled: voice.enabled) {
            case .forward(let stopAudio):
                state.toldVoiceOff = []
                var stopped: [StreamRef] = []
                if stopAudio {
                    for owner in ParticipantRole.allCases {
                        for stop in state.activity.stopAll(owner: owner, audio: true) {
                            stopped.append(stop)
                            _ = state.outboxes[owner.peer]?.enqueue(.streamStop(stop))
                            for watcher in state.watchers { _ = watcher.outbox.enqueue(.streamStop(stop)) }
                        }
                    }
                }
                _ = state.outboxes[.customer]?.enqueue(.voice(voice))
                for watcher in state.watchers { _ = watcher.outbox.enqueue(.voice(voice)) }
                return .changed(stopped: stopped)
            case .unchanged:
                return .unchanged
            case .ended:
                return .ended
            }
        }
    }

    /// Whether `owner`'s stream `streamID` is an announced audio stream.
    func isAudioStream(owner: ParticipantRole, streamID: UInt16) -> Bool {
        state.withLockedValue { $0.activity.isAudio(owner: owner, streamID: streamID) }
    }
}

extension LiveSession.State {
    /// Why a stream message of `role` may not go out yet, if it may not.
    func refusal(_ need: LiveSession.ConsentNeed, from role: ParticipantRole) -> SessionActivity.Rejection? {
        let audio: Bool
        switch need {
        case .none: return nil
        case .media(let isAudio): audio = isAudio
        case .stream(let streamID): audio = activity.isAudio(owner: role, streamID: streamID)
        }
        if audio {
            guard machine.voiceEnabled else { return .voiceOff }
            return role == .customer && !machine.customerMayTalk ? .consentRequired : nil
        }
        return role == .customer && !machine.customerMayShare ? .consentRequired : nil
    }
}

extension LiveSession {
    /// Whether the agent has turned voice on.
    var voiceEnabled: Bool { state.withLockedValue { $0.machine.voiceEnabled } }

    /// Whether the customer's consent to share is granted now.
    var customerMayShare: Bool { state.withLockedValue { $0.machine.customerMayShare } }

    /// Whether voice is on, and the customer's answer about its microphone (nil: none yet).
    var microphoneState: (voiceEnabled: Bool, granted: Bool?) {
        state.withLockedValue { ($0.machine.voiceEnabled, $0.machine.customerMicrophone) }
    }

    /// The announced audio streams of `owner`, or of both sides (owner set on each).
    func audioStreams(owner: ParticipantRole? = nil) -> [StreamRef] {
        state.withLockedValue { $0.activity.announcedStreams(of: owner, audio: true) }
    }
}

extension LiveSession.State {
    /// What a participant, supervisor or recording starting now gets first (§5.9, §5.13):
    /// the streams and overlays, then `voice` when it is on (§5.14), so a customer who joins
    /// or reloads during a call is asked about its microphone, and (not to the customer) the
    /// customer's answer about it.
    func catchUp(for recipient: ParticipantRole?, now: Date) -> [ControlMessage] {
        guard machine.voiceEnabled else { return activity.catchUp(for: recipient, now: now) }
        var messages = activity.catchUp(for: recipient, now: now) + [.voice(Voice(enabled: true))]
        // The agent and supervisors also learn the customer's answer about its microphone.
        if recipient != .customer, let granted = machine.customerMicrophone {
            messages.append(.consent(Consent(granted: granted, source: .microphone)))
        }
        return messages
    }
}
