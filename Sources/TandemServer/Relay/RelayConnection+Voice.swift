import Logging
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Voice (protocol/README.md §5.14): the agent's `voice` and the customer's answer about its
/// microphone. Each is logged (with the audio streams it stops) before it takes effect and
/// before the other side hears of it.
extension RelayConnection {
    /// `voice` from the agent: turns voice on or off; off stops every audio stream.
    func changeVoice(_ voice: Voice, _ connection: ParticipantConnection, bound binding: Binding) async {
        guard binding.role == .agent else {
            connection.sendError(.unexpectedMessage, "only the agent turns voice on or off")
            return
        }
        let session = binding.session
        // A change that changes nothing (already so, or no longer the agent's connection) writes nothing.
        guard session.outbox(for: .agent) === connection.outbox, session.voiceEnabled != voice.enabled else { return }
        let stopping = voice.enabled ? [] : session.audioStreams()
        guard await record(binding, connection, kind: voice.enabled ? .voiceEnabled : .voiceDisabled, detail: [:]) else { return }
        for stop in stopping {
            guard await record(binding, connection, kind: .audioStopped, detail: Self.audioStopped(stop, .voiceOff)) else { return }
        }
        switch session.voice(voice, sender: connection.outbox) {
        case .changed(let stopped):
            session.recording?.control(from: .agent, .voice(voice))
            for stop in stopped {
                session.recording?.control(from: stop.owner ?? .agent, .streamStop(stop))
                // A stream that started while the entries above were written.
                if !stopping.contains(stop) {
                    _ = await record(binding, connection, kind: .audioStopped, detail: Self.audioStopped(stop, .voiceOff))
                }
            }
            logger.info("Voice turned \(voice.enabled ? "on" : "off")", metadata: ["tandem.session.id": "\(session.id)"])
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
        let session = binding.session
        let (voiceOn, current) = session.microphoneState
        guard voiceOn else {
            connection.send(.error(SessionActivity.Rejection.voiceOff.errorMessage))
            return
        }
        // The same answer again changes nothing: neither logged nor relayed.
        guard current != consent.granted else { return }
        let withdrawn = current == true && !consent.granted
        let stopping = consent.granted ? [] : session.audioStreams(owner: .customer)
        var detail = ["source": StreamSource.microphone.rawValue]
        if withdrawn { detail["withdrawn"] = "true" }
        guard await record(binding, connection, kind: consent.granted ? .consentGranted : .consentDenied, detail: detail) else { return }
        for stop in stopping {
            // The answer is logged: it takes effect even if this entry cannot be written.
            _ = await record(binding, connection, kind: .audioStopped, detail: Self.audioStopped(stop, .withdrawn))
        }
        switch session.microphoneConsent(consent) {
        case .relay(let messages, _, _):
            let agent = session.outbox(for: .agent)
            for message in messages {
                _ = agent?.enqueue(message)
                session.tellWatchers(message)
                session.recording?.control(from: .customer, message)
            }
        case .voiceOff:
            // The agent turned voice off meanwhile.
            connection.send(.error(SessionActivity.Rejection.voiceOff.errorMessage))
        case .notLive:
            break
        }
    }

    private static func audioStopped(_ stop: StreamRef, _ reason: AudioStopReason) -> [String: String] {
        ["owner": (stop.owner ?? .agent).rawValue, "streamId": String(stop.streamID), "reason": reason.rawValue]
    }
}
