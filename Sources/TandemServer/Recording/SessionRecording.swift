import NIOConcurrencyHelpers
import NIOCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The recording of one session (protocol/README.md §19): asked for by the agent, active
/// only while the customer agrees. Entries go to the broker's ``RecordingWriter``; what its
/// full queue refuses is counted as dropped.
final class SessionRecording: Sendable {
    let sessionID: String
    private let writer: RecordingWriter

    private struct State {
        var active = false
        var opened = false
        var dropped = 0
        var closed = false
    }

    private let state = NIOLockedValueBox(State())

    init(sessionID: String, writer: RecordingWriter) {
        self.sessionID = sessionID
        self.writer = writer
    }

    /// The customer agreed: record from now on. True the first time (the file is opened).
    func start() -> Bool {
        let first = state.withLockedValue { state -> Bool in
            guard !state.closed else { return false }
            state.active = true
            defer { state.opened = true }
            return !state.opened
        }
        if first, !writer.send(.open(sessionID: sessionID)) { state.withLockedValue { $0.dropped += 1 } }
        return first
    }

    /// The customer withdrew its consent: nothing more is recorded until it agrees again.
    func pause() {
        state.withLockedValue { $0.active = false }
    }

    var isActive: Bool { state.withLockedValue { $0.active } }
    /// Whether recording ever started (the file exists).
    var wasStarted: Bool { state.withLockedValue { $0.opened } }

    /// A relayed media frame, as it was relayed (no copy).
    func media(from owner: ParticipantRole, message: ByteBuffer) {
        append(.media(owner: owner, timeMicros: Self.now, message: message))
    }

    /// A relayed control message; only streams, annotations, freezes and voice on/off are kept.
    func control(from owner: ParticipantRole, _ message: ControlMessage) {
        switch message {
        case .streamStart, .streamStop, .streamPause, .streamResume, .annotation, .freeze, .unfreeze, .overlaySnapshot, .voice, .track:
            append(.control(owner: owner, timeMicros: Self.now, json: message.jsonText))
        default:
            break
        }
    }

    /// The session ended: the file is closed and its hash logged (when anything was recorded).
    func close() async {
        let (opened, dropped) = state.withLockedValue { state -> (Bool, Int) in
            defer {
                state.active = false
                state.closed = true
            }
            return (state.opened && !state.closed, state.dropped)
        }
        guard opened else { return }
        // The close must not be lost to a full queue: it waits (up to a minute) for room.
        for _ in 0..<12_000 {
            if writer.send(.close(sessionID: sessionID, dropped: dropped)) { return }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    private func append(_ entry: RecordingEntry) {
        guard state.withLockedValue({ $0.active }) else { return }
        if !writer.send(.append(sessionID: sessionID, entry: entry)) {
            state.withLockedValue { $0.dropped += 1 }
        }
    }

    private static var now: UInt64 { UInt64(max(0, Date().timeIntervalSince1970 * 1_000_000)) }
}
