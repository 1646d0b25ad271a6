import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TandemCore
import TandemProtocol
import TandemSQLite
import TandemServer
import UnixSignals

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the broker (HTTPS + WSS, SQLite log).")

    @OptionGroup var data: DataOptions

    @OptionGroup(title: "Limits (protocol/README.md §13)") var limitOptions: LimitOptions

    @OptionGroup(title: "Join-code guessing (protocol/README.md §3.1)") var joinLimitOptions: JoinLimitOptions

    @OptionGroup(title: "Tracing (OpenTelemetry, off by default)") var telemetry: TelemetryOptions

    @Option(help: "Address to listen on (env TANDEM_HOST).")
    var host: String = ProcessInfo.processInfo.environment["TANDEM_HOST"] ?? "127.0.0.1"

    @Option(help: "Port to listen on, 0 for any (env TANDEM_PORT).")
    var port: Int = Int(ProcessInfo.processInfo.environment["TANDEM_PORT"] ?? "") ?? 8443

    @Option(help: "PEM certificate chain. Without --cert/--key a development certificate is made.")
    var cert: String?

    @Option(help: "PEM private key of --cert.")
    var key: String?

    @Flag(help: "Serve plain HTTP/WS (loopback addresses only; for debugging).")
    var insecurePlaintext = false

    @Option(help: "Base URL used in join links, e.g. https://support.example.com.")
    var publicURL: String?

    @Option(help: "Another origin (https://support.example.com) whose pages may connect; repeatable, * for any.")
    var allowOrigin: [String] = []

    @Option(help: "Default join-code lifetime in seconds.")
    var codeTTL: Int = 600

    @Option(help: "Unused join codes held at once; more starts are refused until customers join or codes expire.")
    var maxPendingCodes: Int = 100

    @Option(
        help:
            "Bytes of annotations a session keeps (256 a shape + 16 a point + id and text); more are refused (overlay-full). At most 256 × --max-control-message-size. (default: 2 MiB, or less with a small control message size)"
    )
    var maxOverlayBytes: Int?

    /// The budget in force: the option, or the default lowered to fit a small control message size.
    var overlayBytes: Int {
        maxOverlayBytes ?? min(BrokerConfiguration().maxOverlayBytesPerSession, 256 * limitOptions.maxControlMessageSize)
    }

    @Option(help: "Customers and transferred sessions waiting for an agent at once; more are refused (1013 queue-full).")
    var maxQueue: Int = 1000

    @Option(help: "Seconds a transferred session waits for an agent before it ends as transfer-unanswered.")
    var transferWait: Int = 300

    @Option(help: "Queue entries one network (IPv4 address, IPv6 /64) may hold at once; more are refused (4431 queue-limit).")
    var maxQueuePerNetwork: Int = 2

    @Option(
        help:
            "Anonymous actions (unsigned queue entries, failed resumes) the broker logs per hour, all networks together; the rest are refused (4430)."
    )
    var anonymousAuditPerHour: Int = 60

    @Option(help: "With --database postgres://: this broker's id among those sharing the database (default: kept in DATA/broker-id).")
    var brokerID: String?

    @Option(help: "With --database postgres://: seconds another broker may stay silent before its open sessions are closed as broker-lost.")
    var brokerLostAfter: Int = 15

    @Option(help: "Helpdesk URL that gets a signed JSON summary when a session ends (repeatable).")
    var webhook: [String] = []

    @Flag(help: "Also send the webhooks when a session starts.")
    var webhookOnStart = false

    @Flag(help: "The post-session survey also asks how likely the customer is to recommend you (0-10, for NPS).")
    var surveyNps = false

    @Option(help: "How long an offer waits for its agent before it moves on (and the agent is set away): 15, 15s, 1m.")
    var offerTimeout: DurationArgument = DurationArgument(seconds: 15)

    @Option(help: "The answer-time target of the service level, and when a customer overflows (--overflow).")
    var queueTarget: DurationArgument = DurationArgument(seconds: 20)

    @Option(help: "FROM:TO — customers of line FROM waiting past --queue-target move to line TO (repeatable).")
    var overflow: [String] = []

    @Option(help: "After this wait a queued customer may leave a callback request instead (0: never).")
    var callbackAfter: DurationArgument = DurationArgument(seconds: 300)

    @Option(
        help: "A reason code transfers may give, e.g. hardware (repeatable); without any, a transfer may give any code of a-z, 0-9 and - or none."
    )
    var transferReason: [String] = []

    @Option(help: "File holding the webhooks' HMAC-SHA256 secret (env TANDEM_WEBHOOK_SECRET); never given on the command line.")
    var webhookSecretFile: String?

    @Option(help: "Seconds between signed checkpoints of the audit log (when events were added).")
    var checkpointInterval: Int = 60

    @Option(
        help: "Append each checkpoint's signed tree head to this file, one JSON line each (an append-only place; see tandem audit verify --against)."
    )
    var auditAnchorFile: String?

    @Flag(help: "Also send each checkpoint's signed tree head to syslog (facility auth, ident tandem-audit).")
    var auditAnchorSyslog = false

    @Flag(
        help:
            "Start even though the audit log is behind what this broker signed (DATA/audit-head.json): after restoring an old backup on purpose. The loss is recorded in the log (audit.rollback-accepted)."
    )
    var acceptRolledBackLog = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    @Option(help: "TOML file with these options in tables by concern (deploy/tandem.toml); flags and TANDEM_* variables override it.")
    var config: String?

    @Flag(help: "Print the effective configuration (defaults, --config, TANDEM_* variables, flags) as TOML, secrets redacted, and exit.")
    var printConfig = false

    func validate() throws {
        if (cert == nil) != (key == nil) { throw ValidationError("--cert and --key go together") }
        if insecurePlaintext, cert != nil { throw ValidationError("--insecure-plaintext cannot be combined with --cert/--key") }
        if !(0...65535).contains(port) { throw ValidationError("--port must be 0-65535") }
        if codeTTL < 30 || codeTTL > 3600 { throw ValidationError("--code-ttl must be 30-3600 seconds") }
        for url in webhook where !(url.hasPrefix("https://") || url.hasPrefix("http://")) || URL(string: url)?.host == nil {
            throw ValidationError("--webhook must be an http(s):// URL")
        }
        if brokerLostAfter < 3 { throw ValidationError("--broker-lost-after must be at least 3 seconds") }
        if !(1...86_400).contains(checkpointInterval) { throw ValidationError("--checkpoint-interval must be 1-86400 seconds") }
        if let brokerID, brokerID.isEmpty || brokerID.count > 64 || !brokerID.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) {
            throw ValidationError("--broker-id is 1-64 letters, digits, '-', '_' or '.'")
        }
        if maxPendingCodes < 1 { throw ValidationError("--max-pending-codes must be at least 1") }
        // A full overlay's catch-up (about 2 × budget / message size messages) must stay well
        // inside the 1024-message control queue of the participant who (re)joins.
        if let maxOverlayBytes, maxOverlayBytes < 64 << 10 || maxOverlayBytes > 256 * limitOptions.maxControlMessageSize {
            throw ValidationError("--max-overlay-bytes must be 64 KiB to 256 × --max-control-message-size")
        }
        if Logger.Level(rawValue: logLevel) == nil { throw ValidationError("unknown --log-level \(logLevel)") }
    }

    func run() async throws {
        if printConfig {
            print(ServeConfigFile.render(self))
            return
        }
        let logger = CLILog.logger("tandem.broker", level: Logger.Level(rawValue: logLevel) ?? .info)
        var configuration = BrokerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.dataDirectory = data.dataDirectory
        configuration.publicURL = publicURL
        configuration.defaultCodeTTLSeconds = codeTTL
        configuration.allowedOrigins = allowOrigin
        configuration.limits = limitOptions.limits
        joinLimitOptions.apply(to: &configuration.joinLimits)
        configuration.shutdownTimeout = .seconds(limitOptions.shutdownTimeout)
        configuration.maxPendingJoinCodes = maxPendingCodes
        configuration.maxOverlayBytesPerSession = overlayBytes
        configuration.brokerLostAfter = .seconds(brokerLostAfter)
        configuration.checkpointInterval = .seconds(checkpointInterval)
        configuration.auditAnchorFile = auditAnchorFile
        configuration.auditAnchorSyslog = auditAnchorSyslog
        configuration.acceptRolledBackLog = acceptRolledBackLog
        guard maxQueue > 0, transferWait > 0 else { throw ValidationError("--max-queue and --transfer-wait must be positive") }
        configuration.maxQueueLength = maxQueue
        configuration.transferWait = .seconds(transferWait)
        guard maxQueuePerNetwork > 0, anonymousAuditPerHour > 0 else {
            throw ValidationError("--max-queue-per-network and --anonymous-audit-per-hour must be positive")
        }
        configuration.maxQueueEntriesPerNetwork = maxQueuePerNetwork
        configuration.anonymousWriteLimits.anonymous = .init(burst: Double(anonymousAuditPerHour), perHour: Double(anonymousAuditPerHour))
        configuration.surveyAsksNPS = surveyNps
        configuration.routing.offerTimeout = offerTimeout.duration
        configuration.routing.queueTarget = queueTarget.duration
        configuration.routing.callbackAfter = callbackAfter.duration
        guard offerTimeout.seconds > 0, queueTarget.seconds > 0 else { throw ValidationError("--offer-timeout and --queue-target must be positive") }
        guard let pairs = Self.overflowPairs(overflow) else {
            throw ValidationError("--overflow takes FROM:TO, two different line names (a-z, 0-9, -), each FROM once")
        }
        configuration.routing.overflow = pairs
        guard transferReason.allSatisfy(SupportLine.isValid), Set(transferReason).count == transferReason.count, transferReason.count <= 32 else {
            throw ValidationError("--transfer-reason takes up to 32 different codes of 1-32 characters a-z, 0-9 and -")
        }
        configuration.routing.transferReasons = transferReason
        configuration.traceIncomingContext = telemetry.otelTrustTraceparent
        configuration.webhooks = webhook.map { BrokerConfiguration.WebhookTarget(url: $0, onStart: webhookOnStart) }
        if let webhookSecretFile {
            guard let secret = try? String(contentsOfFile: webhookSecretFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
                !secret.isEmpty
            else {
                throw ValidationError("cannot read a secret from --webhook-secret-file")
            }
            configuration.webhookSecret = secret
        } else if let secret = ProcessInfo.processInfo.environment["TANDEM_WEBHOOK_SECRET"], !secret.isEmpty {
            configuration.webhookSecret = secret
        }
        if !webhook.isEmpty, configuration.webhookSecret == nil {
            logger.warning("Webhooks are sent unsigned: set TANDEM_WEBHOOK_SECRET or --webhook-secret-file")
        }
        // One broker per data directory (made 0700, or tightened to it): a second broker stops
        // here, exit status 1, before it reads or writes anything there.
        let dataLock = try DataDirectoryLock.acquire(directory: data.dataDirectory, logger: logger)
        if insecurePlaintext {
            guard configuration.isLoopback else {
                throw ValidationError("--insecure-plaintext is only allowed on a loopback address, not \(host)")
            }
            configuration.transportSecurity = .insecurePlaintext
        } else if let cert, let key {
            configuration.transportSecurity = .certificateFiles(certificate: cert, key: key)
        } else {
            var dev = DevCertificates(directory: data.dataDirectory + "/certs")
            try dev.ensure(hostnames: [host], logger: logger)
            say("Development certificate: \(dev.certificatePath)")
            say("  SHA-256 fingerprint:   \(dev.fingerprint)")
            say("  CA for clients:        \(dev.caPath) (SHA-256 \(dev.caFingerprint))")
            configuration.transportSecurity = .certificateFiles(certificate: dev.certificatePath, key: dev.keyPath)
        }
        try FileManager.default.createDirectory(atPath: data.dataDirectory, withIntermediateDirectories: true)
        let metrics = BrokerMetrics()
        let store = try data.openStore(logger: logger, brokerID: try brokerID ?? data.stableBrokerID(), onWrite: metrics.auditWriteTook)
        let auditKey = try AuditSigningKey.loadOrCreate(directory: data.dataDirectory, logger: logger)
        say("Audit signing key:       \(auditKey.publicKeyPath) (\(auditKey.publicKey.fingerprint))")
        let limits = configuration.joinLimits
        let chance = configuration.joinGuessProbabilityPerDay
        say(
            "Join codes:              \(JoinCodeFormat.digits) digits, at most \(maxPendingCodes) unused, "
                + "at most \(Int(limits.maxCheckedFailuresPerDay)) wrong codes checked a day: "
                + "chance of a guess \(String(format: "%.1e", chance)) per day"
        )
        if chance > 1e-6 {
            logger.warning("Join-code guessing bound above 1e-6 per day; lower --max-pending-codes (protocol/README.md §3.1)")
        }
        let scheme = insecurePlaintext ? "http" : "https"
        let broker = TandemBroker(
            configuration: configuration,
            store: store,
            logger: logger,
            statistics: BrokerStatistics(metrics: metrics),
            dataDirectoryLock: dataLock
        ) { boundPort in
            say("Tandem broker listening on \(scheme)://\(host):\(boundPort) (database \(data.databaseDescription))")
        }
        // The span exporter starts first and stops last, after the sessions' final spans; the
        // store's connection pool (PostgreSQL) starts before the broker and stops after it.
        var services: [any Service] = try telemetry.bootstrapTracing(logger: logger).map { [$0] } ?? []
        if let pool = store as? any Service { services.append(pool) }
        services.append(broker)
        let group = ServiceGroup(
            configuration: .init(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        let deadline = configuration.shutdownTimeout + .seconds(10)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask {
                // Last resort: if a stuck connection keeps the server from stopping even after
                // cancellation, leave anyway. Everything acknowledged is already on disk.
                for await _ in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
                    try await Task.sleep(for: deadline)
                    logger.error("Shutdown did not finish in time; exiting")
                    Foundation.exit(0)
                }
            }
            try await tasks.next()
            tasks.cancelAll()
        }
        logger.debug("Broker stopped")
    }

    /// `--overflow FROM:TO` values as FROM → TO; nil when one is malformed or a FROM repeats.
    static func overflowPairs(_ values: [String]) -> [String: String]? {
        var pairs: [String: String] = [:]
        for value in values {
            let parts = value.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, parts[0] != parts[1], parts.allSatisfy(SupportLine.isValid), pairs[parts[0]] == nil else { return nil }
            pairs[parts[0]] = parts[1]
        }
        return pairs
    }
}
