import TandemProtocol

/// A supervisor connected to a live session (protocol/README.md §18): it receives
/// everything both sides send; as a participant it also draws and chats.
final class SessionWatcher: Sendable {
    let name: String
    let participate: Bool
    let outbox: ParticipantOutbox

    init(name: String, participate: Bool, outbox: ParticipantOutbox) {
        self.name = name
        self.participate = participate
        self.outbox = outbox
    }

    var person: SessionPresence.Person {
        SessionPresence.Person(name: name, role: .supervisor, participating: participate)
    }
}
