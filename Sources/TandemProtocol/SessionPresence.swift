/// Broker → everyone in a session: who is present now (§18). Sent when a supervisor joins
/// or leaves and when another agent takes the session over, so the customer always knows
/// who can see what it shares.
/// See [protocol/README.md § Supervisors](../../protocol/README.md#18-supervisors).
public struct SessionPresence: Sendable, Equatable, Codable {
    public struct Person: Sendable, Equatable, Codable {
        public enum Role: String, Sendable, Codable {
            case agent
            case customer
            case supervisor
        }

        /// The user name; `customer` for the customer.
        public var name: String
        public var role: Role
        /// Supervisors: whether it draws and chats (else it only observes).
        public var participating: Bool?

        public init(name: String, role: Role, participating: Bool? = nil) {
            self.name = name
            self.role = role
            self.participating = participating
        }
    }

    public var present: [Person]

    public init(present: [Person]) {
        self.present = present
    }
}
