/// The customer's answer to "may the agent see your screen / camera?" or, with `source`
/// `microphone` once the agent turned voice on (§5.14), "may the agent hear you?".
///
/// Customer → broker, logged, then relayed to the agent. Until the customer grants consent
/// the broker relays none of its media or streams; `granted: false` after a grant withdraws
/// it (the broker stops the customer's streams). See [protocol/README.md § consent](../../protocol/README.md#512-consent).
public struct Consent: Sendable, Equatable, Codable {
    public var granted: Bool
    /// What the customer agreed to share; defaults to the session's mode.
    public var source: StreamSource?
    /// In a recorded session (§19): whether the customer also agreed to the recording.
    /// Without it nothing of the session is recorded.
    public var recording: Bool?

    public init(granted: Bool, source: StreamSource? = nil, recording: Bool? = nil) {
        self.granted = granted
        self.source = source
        self.recording = recording
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        granted = try container.decode(Bool.self, forKey: .granted)
        source = try container.decodeIfPresent(StreamSource.self, forKey: .source)
        recording = try container.decodeIfPresent(Bool.self, forKey: .recording)
    }

    /// Whether this answers the question of the voice (§5.14): may the agent hear the
    /// customer's microphone. Otherwise it is about the screen or the camera (§5.12).
    public var isMicrophone: Bool { source == .microphone }
}
