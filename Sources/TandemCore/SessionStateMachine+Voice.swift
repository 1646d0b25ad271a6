/// Voice (protocol/README.md §5.14): the agent turns it on or off, the customer answers for
/// its microphone. Audio frames follow ``mediaReceived(from:bytes:audio:)``.
extension SessionStateMachine {
    /// Whether the customer's audio may be relayed: voice is on and it agreed to its microphone.
    public var customerMayTalk: Bool { voiceEnabled && customerMicrophone == true }

    /// What to do with the agent's `voice` message.
    public enum VoiceChangedAction: Sendable, Equatable {
        /// Log it and tell the customer; when voice went off, stop every audio stream.
        case forward(stopAudio: Bool)
        /// Voice already was so: nothing to log, stop or relay.
        case unchanged
        case ended
    }

    /// The agent turns voice on or off. Off forgets the customer's answer about its
    /// microphone: the next time voice is on, the customer is asked again.
    public mutating func voiceChanged(enabled: Bool) -> VoiceChangedAction {
        switch state {
        case .waitingForCustomer, .live:
            guard voiceEnabled != enabled else { return .unchanged }
            voiceEnabled = enabled
            if !enabled { customerMicrophone = nil }
            return .forward(stopAudio: !enabled)
        case .ended:
            return .ended
        }
    }

    /// What to do with the customer's answer about its microphone.
    public enum MicrophoneConsentAction: Sendable, Equatable {
        /// Log it and tell the agent; `withdrawn`: it revokes a grant, so the customer's
        /// audio streams stop.
        case forwardToAgent(withdrawn: Bool)
        /// Nobody asked: voice is off.
        case voiceOff
        case noPeer
        case ended
    }

    /// The customer answers "may the agent hear you?" (`consent` with source `microphone`).
    public mutating func microphoneConsentReceived(granted: Bool) -> MicrophoneConsentAction {
        switch state {
        case .waitingForCustomer:
            return .noPeer
        case .live:
            guard voiceEnabled else { return .voiceOff }
            let withdrawn = customerMicrophone == true && !granted
            customerMicrophone = granted
            return .forwardToAgent(withdrawn: withdrawn)
        case .ended:
            return .ended
        }
    }
}
