import Logging
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Voice (protocol/README.md §5.14): the agent's `voice` and the customer's answer about its
/// microphone. Each is logged before the other side hears of it.
extension RelayConnection {
    /// `voice` from the agent: turns voice on or off; off stops every audio stream.
    func changeVoice(_ voice: Voice, _ connection: ParticipantConnection, bound binding: Binding) async {
        guard binding.role == .agent else {
            connection.sendError(.unexpectedMessage, "only the agent turns voice on or off")
            return
        }
        // Logged first: nobody hears of voice the log does not know about. A refused change
        // (already so, or the connection no longer speaks for the agent) writes nothing more.
        guard binding.session.outbox(for: .agent) === connection.outbox, binding.session.voiceEnabled != voice.enabled else { return }
        guard await record(binding, connection, kind: voice.enabled ? .voiceEnabled : .voiceDisabled, detail: [:]) else { return }
        switch binding.session.voice(voice, sender: connection.outbox) {
        case .changed(let stopped):
            binding.session.recording?.control(from: .agent, .voice(voice))
            for stop in stopped {
                binding.session.recording?.control(from: stop.owner ?? .agent, .streamStop(stop))
                let detail = [
                    "owner": (stop.owner ?? .agent).rawValue, "streamId": String(stop.streamID), "reason": AudioStopReason.voiceOff.rawValue,
                ]
                _ = await record(binding, connection, kind: .audioStopped, detail: detail)
            }
            logger.info("Voice turned \(voice.enabled ? "on" : "off")", metadata: ["tandem.session.id": "\(binding.session.id)"])
        case .unchanged, .ended:
            break
        }
    }

    /// `consent` with source `microphone` from the customer, while voice is on.
    func recordMicrophoneConsent(_ consent: Consent, _ connection: ParticipantConnection, bound binding: Binding) async {
        guard binding.role == .customer else {
            connection.sendError(.unexpectedMessage, "only the customer gives consent")
            return
        }
        let answer = binding.session.microphoneConsent(consent)
        switch answer {
        case .voiceOff:
            connection.send(.error(SessionActivity.Rejection.voiceOff.errorMessage))
            return
        case .notLive:
            return
        case .relay(let messages, let stopped, let withdrawn):
            var detail = ["source": StreamSource.microphone.rawValue]
            if withdrawn { detail["withdrawn"] = "true" }
            guard await record(binding, connection, kind: consent.granted ? .consentGranted : .consentDenied, detail: detail) else { return }
            for stop in stopped {
                let detail = [
                    "owner": ParticipantRole.customer.rawValue, "streamId": String(stop.streamID), "reason": AudioStopReason.withdrawn.rawValue,
                ]
                guard await record(binding, connection, kind: .audioStopped, detail: detail) else { return }
            }
            let agent = binding.session.outbox(for: .agent)
            for message in messages {
                _ = agent?.enqueue(message)
                binding.session.tellWatchers(message)
                binding.session.recording?.control(from: .customer, message)
            }
        }
    }
}
