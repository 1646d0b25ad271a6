/// Body of `GET /v1/queue`: who waits for an agent, per line, in the order they are taken.
/// See [protocol/README.md § Queue](../../protocol/README.md#16-queue).
public struct QueueListing: Sendable, Equatable, Codable {
    public struct Entry: Sendable, Equatable, Codable {
        public enum Kind: String, Sendable, Codable {
            /// A customer who asked for help without a code.
            case customer
            /// A live session an agent handed over (§17); `id` is the session id.
            case transfer
        }

        public var id: String
        public var kind: Kind
        public var ticket: String
        public var tier: SupportTier
        public var line: String
        /// A transfer to a named agent: only that agent takes it.
        public var toAgent: String?
        /// A transfer: the agent who handed it over.
        public var from: String?
        /// 1 = taken next from its line (or by its named agent).
        public var position: Int
        public var waitedSeconds: Int
        public var note: String?

        public init(
            id: String,
            kind: Kind,
            ticket: String,
            tier: SupportTier,
            line: String,
            toAgent: String?,
            from: String?,
            position: Int,
            waitedSeconds: Int,
            note: String?
        ) {
            self.id = id
            self.kind = kind
            self.ticket = ticket
            self.tier = tier
            self.line = line
            self.toAgent = toAgent
            self.from = from
            self.position = position
            self.waitedSeconds = waitedSeconds
            self.note = note
        }
    }

    public var entries: [Entry]

    public init(entries: [Entry]) {
        self.entries = entries
    }
}
