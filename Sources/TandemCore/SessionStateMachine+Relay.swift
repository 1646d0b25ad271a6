import TandemProtocol

/// Relaying between the participants (protocol/README.md §2, §4, §5.5, §5.12): media, chat
/// and the customer's consent.
extension SessionStateMachine {
    /// What to do with a media frame.
    public enum MediaReceivedAction: Sendable, Equatable {
        /// The frame is counted; forward it to the participant with this role.
        case forward(to: ParticipantRole)
        /// Do not forward the frame.
        case drop(DropReason)
    }

    /// A binary media frame of `bytes` bytes (header included) arrived from `role` (§4). It
    /// goes to the other participant while the session is live and that participant is
    /// there: not before the customer joined, not to an away participant (§5.13), not from
    /// the customer while a transfer waits for an agent (§17), and not from the customer
    /// without its consent (§5.12). The agent's media needs no consent. Audio (`audio`) goes
    /// only while voice is on, and the customer's only with its consent to the microphone
    /// (§5.14); the consent to share a screen or camera does not cover it. Forwarded frames
    /// are counted in ``traffic``.
    public mutating func mediaReceived(from role: ParticipantRole, bytes: Int, audio: Bool = false) -> MediaReceivedAction {
        switch state {
        case .waitingForCustomer:
            return .drop(.noPeer)
        case .live:
            // Between agents: nobody to relay to.
            if role == .customer, transfer != nil { return .drop(.noPeer) }
            if away[role.peer] != nil { return .drop(.noPeer) }
            if audio {
                guard voiceEnabled else { return .drop(.voiceOff) }
                if role == .customer, !customerMayTalk { return .drop(.noConsent) }
            } else if role == .customer, !customerMayShare {
                return .drop(.noConsent)
            }
            count(from: role, bytes: bytes)
            return .forward(to: role.peer)
        case .ended:
            return .drop(.ended)
        }
    }

    /// What to do with a relayed control message.
    public enum ControlReceivedAction: Sendable, Equatable {
        /// Forward the message to the participant with this role.
        case forward(to: ParticipantRole)
        /// Do not forward: the other participant has not joined, is away, or (for the
        /// customer) a transfer waits for an agent. Chat is refused with `no-peer`.
        case noPeer
        /// Do not forward: the session has ended.
        case ended
    }

    /// A relayed control message (chat, streams, annotations, freezes; §5.5, §5.9–5.11)
    /// arrived from `role`. It goes to the other participant under the same conditions as
    /// media, except that it needs no consent.
    public mutating func controlReceived(from role: ParticipantRole) -> ControlReceivedAction {
        switch state {
        case .waitingForCustomer:
            return .noPeer
        case .live:
            // Between agents: nobody to relay to.
            if role == .customer, transfer != nil { return .noPeer }
            if away[role.peer] != nil { return .noPeer }
            return .forward(to: role.peer)
        case .ended:
            return .ended
        }
    }

    /// What to do with the customer's answer to the consent question.
    public enum ConsentReceivedAction: Sendable, Equatable {
        /// The answer is recorded; relay it to the agent.
        case forwardToAgent
        /// The customer has not joined: there is nothing to consent to.
        case noPeer
        /// The session has ended.
        case ended
    }

    /// The customer granted (`granted`), refused or withdrew (`!granted` after a grant)
    /// consent to share its screen or camera (§5.12). Until it grants it, none of its media
    /// is relayed; the answer stands across a resume (§5.13) and a transfer (§17).
    public mutating func consentReceived(granted: Bool) -> ConsentReceivedAction {
        switch state {
        case .waitingForCustomer:
            return .noPeer
        case .live:
            customerConsent = granted
            return .forwardToAgent
        case .ended:
            return .ended
        }
    }
}
