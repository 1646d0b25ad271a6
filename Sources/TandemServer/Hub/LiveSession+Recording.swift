import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Recording a session (protocol/README.md §19).
extension LiveSession {
    /// Starts (or resumes) the recording: first the streams and overlays as they are now, so
    /// the recording plays on its own, then everything relayed. Under the session's lock,
    /// so nothing relayed meanwhile is missing or recorded twice.
    func startRecording() {
        guard let recording else { return }
        state.withLockedValue { state in
            guard !recording.isActive else { return }
            _ = recording.start()
            for message in state.catchUp(for: nil, now: Date()) {
                let owner: ParticipantRole =
                    switch message {
                    case .streamStart(let start): start.owner ?? .agent
                    case .overlaySnapshot(let snapshot): snapshot.owner
                    case .track(let track): track.owner ?? .agent
                    default: .agent
                    }
                recording.control(from: owner, message)
            }
        }
    }
}
