/// Agent → broker (`supervisor.request`, §20.5): the session's agent asks a supervisor for help.
public struct SupervisorRequest: Sendable, Equatable, Codable {
    public static let maxNoteLength = 500

    public var note: String?

    public init(note: String? = nil) {
        self.note = note
    }
}
