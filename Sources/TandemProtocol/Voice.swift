/// Agent → broker → customer: the agent turns the session's voice on or off
/// (protocol/README.md §5.14). While it is off no audio stream starts and no audio frame is
/// relayed; turning it off stops every audio stream of the session.
public struct Voice: Sendable, Equatable, Codable {
    public var enabled: Bool

    public init(enabled: Bool) {
        self.enabled = enabled
    }
}
