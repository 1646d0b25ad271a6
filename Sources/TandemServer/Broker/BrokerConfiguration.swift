import TandemCore
import TandemProtocol

/// Everything `tandem serve` can change. Defaults are the zero-configuration broker.
public struct BrokerConfiguration: Sendable {
    public enum TransportSecurity: Sendable, Equatable {
        /// Make (or reuse) a development CA and server certificate under `<dataDirectory>/certs`.
        case developmentCertificate
        /// Use these PEM files: a certificate chain and its private key.
        case certificateFiles(certificate: String, key: String)
        /// Plain HTTP and WebSocket. Only allowed on a loopback address.
        case insecurePlaintext
    }

    public var host: String = "127.0.0.1"
    /// 0 binds an ephemeral port (tests); read it from ``TandemBroker``'s `onServerRunning`.
    public var port: Int = 8443
    public var transportSecurity: TransportSecurity = .developmentCertificate
    public var dataDirectory: String = "./tandem-data"
    /// Base of join links, e.g. `https://support.example.com`; defaults to the bound address.
    public var publicURL: String?
    /// Join codes live this long unless the agent asks for less.
    public var defaultCodeTTLSeconds: Int = 600
    /// Unused join codes the broker holds at once; an agent starting one more is refused
    /// with 1013. Part of the guessing bound of protocol/README.md §3.1.
    public var maxPendingJoinCodes: Int = 100
    /// Join-code guessing limits per network and for the whole broker (§3.1).
    public var joinLimits = JoinAttemptLimiter.Limits()
    /// Upper bound on a requested code lifetime.
    public var maxCodeTTLSeconds: Int = 3600
    /// What one connection and one network may use (protocol/README.md §13).
    public var limits = Limits()
    /// Media frames queued per recipient before the oldest is dropped.
    public var mediaQueueCapacity: Int = 8
    /// Control messages queued per recipient before it is disconnected as too slow (4503).
    public var controlQueueCapacity: Int = 1024
    /// Bytes of annotations a session keeps across all its overlays, counted as
    /// protocol/README.md §5.10 says (256 a shape + 16 a point + its id and text); beyond it
    /// `error` `overlay-full`. Default 2 MiB (`serve --max-overlay-bytes`).
    public var maxOverlayBytesPerSession: Int = 2 << 20
    /// How often waiting sessions are checked for expiry.
    public var sweepInterval: Duration = .seconds(1)
    /// How often live sessions are recorded as active: after a crash, a session is closed
    /// at its last recorded activity, so this bounds how much of its duration can be lost.
    public var activityRecordInterval: Duration = .seconds(5)
    /// How often a signed checkpoint of the audit log is written (when events were added).
    public var checkpointInterval: Duration = .seconds(60)
    /// Evidence bundles (§11.9) written at once; another request gets 503 `busy`. 0 refuses all.
    public var evidenceBundlesAtOnce = 2
    /// Each checkpoint's signed tree head is appended here as a JSON line (§11.10); nil: no file.
    public var auditAnchorFile: String?
    /// Each checkpoint's signed tree head also goes to syslog (facility auth, ident tandem-audit).
    public var auditAnchorSyslog = false
    /// Start even if the audit log is behind the last checkpoint this broker signed (kept in
    /// `DATA/audit-head.json`, §11.7); the loss is recorded as `audit.rollback-accepted`.
    /// Default false: the broker refuses to start (`serve --accept-rolled-back-log`).
    public var acceptRolledBackLog = false
    /// How long a participant whose connection dropped (without `session.end`) may reconnect
    /// with its resume token before the session ends; zero ends it at once.
    public var reconnectGrace: Duration = .seconds(60)
    /// Customers and transferred sessions waiting for an agent at once (§16); one more is
    /// refused with 1013 `queue-full`.
    public var maxQueueLength: Int = 1000
    /// Entries one network (an IPv4 address, an IPv6 /64) may hold in the queue at once (§16);
    /// one more is refused with 4431 `queue-limit`.
    public var maxQueueEntriesPerNetwork: Int = 2
    /// What anonymous clients may add to the audit log: failed resumes and queue entries per
    /// network, and for the whole broker (protocol/README.md §13.1).
    public var anonymousWriteLimits = AnonymousWriteLimiter.Limits()
    /// A help link's lifetime (§16.1) when none is asked for, and the longest one issued.
    public var defaultHelpLinkLifetime: Duration = .seconds(24 * 3600)
    public var maxHelpLinkLifetime: Duration = .seconds(7 * 24 * 3600)
    /// Whether a request's `traceparent` header is continued (tracing, README "Install and
    /// operate"): off, as any client may send one to force sampling or pick trace ids.
    public var traceIncomingContext = false
    /// Whether the post-session survey (§5.16) asks "How likely are you to recommend us?" (0–10).
    public var surveyAsksNPS = false
    /// How long a transferred session waits for an agent before it ends `transfer-unanswered` (§17).
    public var transferWait: Duration = .seconds(300)
    /// Recording entries (frames, annotations) queued for the disk across all recorded
    /// sessions; entries beyond it are dropped and counted in `recording.closed` (§19).
    public var recordingQueueCapacity: Int = 2048
    /// How often a customer waiting in the queue gets `queue.status` when nothing changed.
    public var queueStatusInterval: Duration = .seconds(5)
    /// Routing (protocol/README.md §20): how long an offer waits for its agent, the answer
    /// target of the service level (and of overflow), the lines whose late customers move on,
    /// when a waiting customer is offered a callback (zero: never), and the transfer reasons.
    public var routing = Routing()

    public struct Routing: Sendable, Equatable {
        public var offerTimeout: Duration = .seconds(15)
        public var queueTarget: Duration = .seconds(20)
        /// `line1` → `line2`: line1's customers waiting past the target move to line2.
        public var overflow: [String: String] = [:]
        public var callbackAfter: Duration = .seconds(300)
        /// Reason codes a transfer may give; empty: any (or none).
        public var transferReasons: [String] = []
        /// Floor connections (admins) at once.
        public var maxFloorConnections = 32
        /// Presence changes of one agent logged per hour (§20.1).
        public var presenceLogsPerHour = 30

        public init() {}
    }
    /// With a shared database (PostgreSQL): how often this broker says it is alive, and how
    /// long another broker may stay silent before its open sessions are closed as `broker-lost`.
    public var heartbeatInterval: Duration = .seconds(2)
    public var brokerLostAfter: Duration = .seconds(15)
    /// A helpdesk endpoint that gets a signed JSON summary of each session (protocol/README.md §15).
    public struct WebhookTarget: Sendable, Equatable {
        public var url: String
        /// Also send one when a session starts (`session.created`).
        public var onStart: Bool

        public init(url: String, onStart: Bool = false) {
            self.url = url
            self.onStart = onStart
        }

        func wants(_ kind: AuditEventKind) -> Bool {
            kind == .sessionEnded || kind == .surveyAnswered || kind == .queueCallback || (onStart && kind == .sessionCreated)
        }
    }

    public var webhooks: [WebhookTarget] = []
    /// HMAC-SHA256 key of the `X-Tandem-Signature` header. Never logged: it is kept as
    /// ``Redacted``, so printing or reflecting the configuration (the service lifecycle logs
    /// its services at debug) shows `<redacted>`.
    public var webhookSecret: String? {
        get { redactedWebhookSecret?.value }
        set { redactedWebhookSecret = newValue.map { Redacted($0) } }
    }
    private var redactedWebhookSecret: Redacted<String>?
    /// How often the log is checked for new deliveries, and the waits after failures.
    public var webhookPollInterval: Duration = .seconds(1)
    public var webhookFirstBackoff: Duration = .seconds(2)
    public var webhookMaxBackoff: Duration = .seconds(300)
    /// WebSocket ping interval; a peer that does not answer a ping before the next one is
    /// disconnected, so a half-open connection is found within two intervals.
    public var pingInterval: Duration = .seconds(20)
    /// Origins (`https://support.example.com`) whose pages may open WebSockets besides the
    /// broker's own origin; `*` allows any. Clients that send no Origin (CLI, apps) are not affected.
    public var allowedOrigins: [String] = []
    /// Graceful shutdown gets this long (sessions ended, log checkpointed, connections
    /// drained); whatever still runs then is cancelled, so a stuck client cannot hold the
    /// broker up.
    public var shutdownTimeout: Duration = .seconds(15)
    /// How long a console sign-in (`tandem session start --console`) can start sessions.
    public var consoleTokenLifetime: Double = 15 * 60
    /// Folder of the browser pages (customer join page, agent console); nil uses the copy
    /// built into the broker.
    public var webRoot: String?

    public init() {}

    /// Whether `host` is a loopback address or name.
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// The chance per day that a join code is guessed under these limits (§3.1).
    public var joinGuessProbabilityPerDay: Double {
        joinLimits.guessProbabilityPerDay(pendingCodes: maxPendingJoinCodes, codeSpace: JoinCodeFormat.codeSpace)
    }
}
