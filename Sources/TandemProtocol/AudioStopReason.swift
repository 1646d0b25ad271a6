/// Why an audio stream stopped: the `reason` of an `audio.stopped` audit event
/// (protocol/README.md §5.14, §11).
public enum AudioStopReason: String, Sendable, CaseIterable {
    /// Its publisher stopped it (`stream.stop`).
    case stopped
    /// The customer took back its consent to the microphone.
    case withdrawn
    /// The agent turned voice off.
    case voiceOff = "voice-off"
}
