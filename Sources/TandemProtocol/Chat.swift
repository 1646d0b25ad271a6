/// A chat line, relayed to the other participant.
///
/// The sender leaves `from` out; the broker sets it to the sender's role before relaying.
/// See [protocol/README.md § chat](../../protocol/README.md#55-chat).
public struct Chat: Sendable, Equatable, Codable, CustomStringConvertible {
    public static let maxLength = 4096

    public var text: String
    public var from: ParticipantRole?
    /// Set by the broker when a supervisor wrote it (§18): its user name; `from` is then `agent`.
    public var supervisor: String?

    public init(text: String, from: ParticipantRole? = nil, supervisor: String? = nil) {
        self.text = text
        self.from = from
        self.supervisor = supervisor
    }

    public var description: String { "Chat(from: \(from?.rawValue ?? "-"), \(text.count) characters)" }
}
