/// The first message on every connection: who the client is and what it wants.
///
/// An agent sends its API `token` and `start`; a customer sends the join `code`.
/// `description` never shows the token or the code.
/// See [protocol/README.md § hello](../../protocol/README.md#51-hello).
public struct Hello: Sendable, Equatable, Codable, CustomStringConvertible {
    /// What an agent asks for when it opens a session.
    public struct Start: Sendable, Equatable, Codable {
        public var ticket: String
        public var mode: SessionMode
        /// Seconds until the join code expires; the broker applies its default and maximum.
        public var ttlSeconds: Int?
        /// Record the session if the customer agrees (§19).
        public var record: Bool?

        public init(ticket: String, mode: SessionMode, ttlSeconds: Int? = nil, record: Bool? = nil) {
            self.ticket = ticket
            self.mode = mode
            self.ttlSeconds = ttlSeconds
            self.record = record
        }
    }

    /// What a customer without a code asks for: to wait in a line's queue (§16).
    public struct QueueRequest: Sendable, Equatable, Codable {
        public var ticket: String
        public var tier: SupportTier
        /// What the customer offers to share.
        public var mode: SessionMode
        /// The line to queue for; `line1` when absent.
        public var line: String?
        /// From a signed help link (§16.1): its expiry (Unix seconds) and signature, which
        /// cover `ticket`, `tier` and `line`. Without them the broker queues the customer as `basic`.
        public var expires: Int?
        public var signature: String?
        /// From a signed help link only (§20.2): what the agent must know.
        public var skills: [String]?

        public init(
            ticket: String,
            tier: SupportTier,
            mode: SessionMode = .screen,
            line: String? = nil,
            expires: Int? = nil,
            signature: String? = nil,
            skills: [String]? = nil
        ) {
            self.skills = skills
            self.ticket = ticket
            self.tier = tier
            self.mode = mode
            self.line = line
            self.expires = expires
            self.signature = signature
        }
    }

    /// What an agent taking work from a queue asks for (§16): the next customer or
    /// transferred session of `line`, sessions transferred to this agent by name first.
    public struct Take: Sendable, Equatable, Codable {
        /// `line1` when absent.
        public var line: String?
        /// Record the session if the customer agrees (§19).
        public var record: Bool?
        /// Accepts this offer (§20.2): exactly its entry, instead of the next of `line`.
        public var offer: String?

        public init(line: String? = nil, record: Bool? = nil, offer: String? = nil) {
            self.line = line
            self.record = record
            self.offer = offer
        }
    }

    /// A floor connection (§20.6): no members yet.
    public struct Floor: Sendable, Equatable, Codable {
        public init() {}
    }

    /// What a supervisor asks for (§18): to join a live session as an observer (sees
    /// everything, cannot draw or chat) or as a participant (also draws and chats).
    public struct Watch: Sendable, Equatable, Codable {
        public var sessionID: String
        public var participate: Bool

        enum CodingKeys: String, CodingKey {
            case sessionID = "sessionId"
            case participate
        }

        public init(sessionID: String, participate: Bool = false) {
            self.sessionID = sessionID
            self.participate = participate
        }
    }

    public var protocolVersion: Int
    public var role: ParticipantRole
    /// Free-form client name and version, e.g. `tandem-cli/0.1`; recorded in the log.
    public var client: String?
    /// Agent only: the API token.
    public var token: String?
    /// Customer only: the join code, with or without separators.
    public var code: String?
    /// Customer only, with `code`: the key of the join link (``JoinLink``), which spares the
    /// join the guessing limits (§3.1).
    public var key: String?
    /// Agent only: the session to open.
    public var start: Start?
    /// Either role: the resume token of a session this participant dropped out of (§5.13),
    /// instead of `token`/`start` or `code`.
    public var resume: String?
    /// Customer only: wait in a queue instead of giving a `code` (§16).
    public var queue: QueueRequest?
    /// Agent only: take the next session from a queue instead of `start` (§16).
    public var take: Take?
    /// Agent role, admin token only: join a live session as a supervisor instead of `start` (§18).
    public var watch: Watch?
    /// The codecs this client decodes (§5.1), told to the other side; absent: images only.
    public var codecs: CodecList?
    /// Agent only: keep a presence connection and be offered customers (§20.1).
    public var presence: Presence?
    /// Admin only: receive the floor's state (§20.6).
    public var floor: Floor?

    enum CodingKeys: String, CodingKey {
        case protocolVersion = "protocol"
        case role, client, token, code, key, start, resume, queue, take, watch, codecs, presence, floor
    }

    public init(
        protocolVersion: Int = TandemWire.version,
        role: ParticipantRole,
        client: String? = nil,
        token: String? = nil,
        code: String? = nil,
        key: String? = nil,
        start: Start? = nil,
        resume: String? = nil,
        queue: QueueRequest? = nil,
        take: Take? = nil,
        watch: Watch? = nil,
        codecs: CodecList? = nil,
        presence: Presence? = nil,
        floor: Floor? = nil
    ) {
        self.presence = presence
        self.floor = floor
        self.codecs = codecs
        self.watch = watch
        self.resume = resume
        self.queue = queue
        self.take = take
        self.protocolVersion = protocolVersion
        self.role = role
        self.client = client
        self.token = token
        self.code = code
        self.key = key
        self.start = start
    }

    public static func agent(token: String, start: Start, client: String? = nil) -> Hello {
        Hello(role: .agent, client: client, token: token, start: start)
    }

    /// A customer joining with a code, and the key when it has the link.
    public static func customer(code: String, key: String? = nil, client: String? = nil) -> Hello {
        Hello(role: .customer, client: client, code: code, key: key)
    }

    /// A customer without a code, asking to wait in a queue.
    public static func queue(_ request: QueueRequest, client: String? = nil) -> Hello {
        Hello(role: .customer, client: client, queue: request)
    }

    /// An agent taking the next session from a queue.
    public static func take(token: String, _ take: Take, client: String? = nil) -> Hello {
        Hello(role: .agent, client: client, token: token, take: take)
    }

    /// A supervisor joining a live session.
    public static func watch(token: String, _ watch: Watch, client: String? = nil) -> Hello {
        Hello(role: .agent, client: client, token: token, watch: watch)
    }

    /// An agent going online on a presence connection (§20.1).
    public static func presence(token: String, _ presence: Presence, client: String? = nil) -> Hello {
        Hello(role: .agent, client: client, token: token, presence: presence)
    }

    /// An admin watching the floor (§20.6).
    public static func floor(token: String, client: String? = nil) -> Hello {
        Hello(role: .agent, client: client, token: token, floor: Floor())
    }

    /// Reconnects `role` to its session with the resume token it was given.
    public static func resume(_ token: String, role: ParticipantRole, client: String? = nil) -> Hello {
        Hello(role: role, client: client, resume: token)
    }

    public var description: String {
        "Hello(resume: \(resume == nil ? "no" : "redacted"), protocol: \(protocolVersion), role: \(role.rawValue), client: \(client ?? "-"), "
            + "token: \(token == nil ? "absent" : "redacted"), code: \(code == nil ? "absent" : "redacted"), key: \(key == nil ? "absent" : "redacted"), queue: \(queue == nil ? "no" : "yes"), take: \(take == nil ? "no" : "yes"), watch: \(watch == nil ? "no" : "yes"), presence: \(presence == nil ? "no" : "yes"), floor: \(floor == nil ? "no" : "yes"))"
    }
}
