/// Participant → broker: end the session now.
///
/// Only the agent may give an `outcome` and `note`; a customer sends neither.
/// See [protocol/README.md § session.end](../../protocol/README.md#56-sessionend).
public struct SessionEnd: Sendable, Equatable, Codable, CustomStringConvertible {
    public static let maxNoteLength = 2000

    public var outcome: SessionOutcome?
    public var note: String?

    public init(outcome: SessionOutcome? = nil, note: String? = nil) {
        self.outcome = outcome
        self.note = note
    }

    public var description: String { "SessionEnd(outcome: \(outcome?.rawValue ?? "-"), note: \(note == nil ? "absent" : "present"))" }
}
