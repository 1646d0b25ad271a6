import Foundation

/// Every option of `tandem serve` as a key of the config file, by concern (deploy/tandem.toml).
extension ServeConfigFile {
    static let entries: [Entry] = server + storage + sessions + webhooks + limits + joinGuessing + telemetry

    private static func string(_ value: String?) -> String? { value.map(quoted) }
    private static func number(_ value: Double) -> String { value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value) }
    private static func list(_ values: [String]) -> String { "[" + values.map(quoted).joined(separator: ", ") + "]" }

    /// A URL without its user information, query and fragment.
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "(a URL that does not parse)" }
        let hadSecrets = components.user != nil || components.password != nil || components.query != nil || components.fragment != nil
        components.user = nil
        components.password = nil
        components.query = nil
        components.fragment = nil
        return (components.string ?? "") + (hadSecrets ? " (credentials and query redacted)" : "")
    }

    private static let server: [Entry] = [
        Entry(table: "server", key: "host", kind: .string, environment: "TANDEM_HOST") { string($0.host) },
        Entry(table: "server", key: "port", kind: .integer, environment: "TANDEM_PORT") { String($0.port) },
        Entry(table: "server", key: "public_url", kind: .string) { string($0.publicURL) },
        Entry(table: "server", key: "allow_origin", kind: .strings) { list($0.allowOrigin) },
        Entry(table: "server", key: "insecure_plaintext", kind: .flag) { String($0.insecurePlaintext) },
        Entry(table: "server", key: "log_level", kind: .string) { string($0.logLevel) },
        Entry(table: "tls", key: "cert", kind: .string) { string($0.cert) },
        Entry(table: "tls", key: "key", kind: .string) { string($0.key) },
    ]

    private static let storage: [Entry] = [
        Entry(table: "storage", key: "data_dir", kind: .string, environment: "TANDEM_DATA_DIR") { string($0.data.dataDirectory) },
        // The URL's password never leaves the process: printed as the server it names.
        Entry(table: "storage", key: "database", kind: .string, environment: "TANDEM_DATABASE") {
            $0.data.database == nil ? nil : string($0.data.databaseDescription)
        },
        Entry(table: "storage", key: "checkpoint_interval", kind: .integer) { String($0.checkpointInterval) },
        Entry(table: "storage", key: "accept_rolled_back_log", kind: .flag) { String($0.acceptRolledBackLog) },
        Entry(table: "storage", key: "audit_anchor_file", kind: .string) { string($0.auditAnchorFile) },
        Entry(table: "storage", key: "audit_anchor_syslog", kind: .flag) { String($0.auditAnchorSyslog) },
        Entry(table: "cluster", key: "broker_id", kind: .string) { string($0.brokerID) },
        Entry(table: "cluster", key: "broker_lost_after", kind: .integer) { String($0.brokerLostAfter) },
    ]

    private static let sessions: [Entry] = [
        Entry(table: "sessions", key: "code_ttl", kind: .integer) { String($0.codeTTL) },
        Entry(table: "sessions", key: "max_pending_codes", kind: .integer) { String($0.maxPendingCodes) },
        Entry(table: "sessions", key: "max_overlay_bytes", kind: .integer) { String($0.overlayBytes) },
        Entry(table: "sessions", key: "survey_nps", kind: .flag) { String($0.surveyNps) },
        Entry(table: "queue", key: "max_queue", kind: .integer) { String($0.maxQueue) },
        Entry(table: "queue", key: "max_queue_per_network", kind: .integer) { String($0.maxQueuePerNetwork) },
        Entry(table: "queue", key: "transfer_wait", kind: .integer) { String($0.transferWait) },
        Entry(table: "queue", key: "anonymous_audit_per_hour", kind: .integer) { String($0.anonymousAuditPerHour) },
        Entry(table: "queue", key: "offer_timeout", kind: .integer) { String($0.offerTimeout.seconds) },
        Entry(table: "queue", key: "queue_target", kind: .integer) { String($0.queueTarget.seconds) },
        Entry(table: "queue", key: "overflow", kind: .strings) { list($0.overflow) },
        Entry(table: "queue", key: "callback_after", kind: .integer) { String($0.callbackAfter.seconds) },
        Entry(table: "queue", key: "transfer_reason", kind: .strings) { list($0.transferReason) },
    ]

    private static let webhooks: [Entry] = [
        // A helpdesk URL may carry a user:password or a token in its query: printed without them.
        Entry(table: "webhooks", key: "webhook", kind: .strings) { list($0.webhook.map(redacted)) },
        Entry(table: "webhooks", key: "webhook_on_start", kind: .flag) { String($0.webhookOnStart) },
        Entry(table: "webhooks", key: "webhook_secret_file", kind: .string, environment: "TANDEM_WEBHOOK_SECRET") {
            string($0.webhookSecretFile)
        },
    ]

    private static let limits: [Entry] = [
        Entry(table: "limits", key: "max_message_size", kind: .integer) { String($0.limitOptions.maxMessageSize) },
        Entry(table: "limits", key: "max_control_message_size", kind: .integer) { String($0.limitOptions.maxControlMessageSize) },
        Entry(table: "limits", key: "hello_message_size", kind: .integer) { String($0.limitOptions.helloMessageSize) },
        Entry(table: "limits", key: "echo_message_size", kind: .integer) { String($0.limitOptions.echoMessageSize) },
        Entry(table: "limits", key: "customer_log_rate", kind: .number) { number($0.limitOptions.customerLogRate) },
        Entry(table: "limits", key: "customer_log_burst", kind: .number) { number($0.limitOptions.customerLogBurst) },
        Entry(table: "limits", key: "control_rate", kind: .number) { number($0.limitOptions.controlRate) },
        Entry(table: "limits", key: "control_burst", kind: .number) { number($0.limitOptions.controlBurst) },
        Entry(table: "limits", key: "frame_rate", kind: .number) { number($0.limitOptions.frameRate) },
        Entry(table: "limits", key: "frame_burst", kind: .number) { number($0.limitOptions.frameBurst) },
        Entry(table: "limits", key: "rate_excess_seconds", kind: .number) { number($0.limitOptions.rateExcessSeconds) },
        Entry(table: "limits", key: "idle_timeout", kind: .integer) { String($0.limitOptions.idleTimeout) },
        Entry(table: "limits", key: "hello_timeout", kind: .integer) { String($0.limitOptions.helloTimeout) },
        Entry(table: "limits", key: "first_request_timeout", kind: .integer) { String($0.limitOptions.firstRequestTimeout) },
        Entry(table: "limits", key: "request_deadline", kind: .integer) { String($0.limitOptions.requestDeadline) },
        Entry(table: "limits", key: "http_idle_timeout", kind: .integer) { String($0.limitOptions.httpIdleTimeout) },
        Entry(table: "limits", key: "echo_lifetime", kind: .integer) { String($0.limitOptions.echoLifetime) },
        Entry(table: "limits", key: "shutdown_timeout", kind: .integer) { String($0.limitOptions.shutdownTimeout) },
        Entry(table: "limits", key: "http_connections_per_network", kind: .integer) { String($0.limitOptions.httpConnectionsPerNetwork) },
        Entry(table: "limits", key: "websockets_per_network", kind: .integer) { String($0.limitOptions.websocketsPerNetwork) },
        Entry(table: "limits", key: "agent_websockets_per_network", kind: .integer) { String($0.limitOptions.agentWebsocketsPerNetwork) },
        Entry(table: "limits", key: "media_max_age_ms", kind: .integer) { String($0.limitOptions.mediaMaxAgeMs) },
        Entry(table: "limits", key: "send_buffer_bytes", kind: .integer) { String($0.limitOptions.sendBufferBytes) },
        Entry(table: "limits", key: "unsent_bytes", kind: .integer) { String($0.limitOptions.unsentBytes) },
        Entry(table: "limits", key: "write_queue_bytes", kind: .integer) { String($0.limitOptions.writeQueueBytes) },
    ]

    private static let telemetry: [Entry] = [
        // A collector URL may carry credentials: printed without them (headers go in OTEL_EXPORTER_OTLP_HEADERS).
        Entry(table: "telemetry", key: "otel_endpoint", kind: .string, environment: "TANDEM_OTEL_ENDPOINT") {
            string($0.telemetry.endpoint.map(redacted))
        },
        Entry(table: "telemetry", key: "otel_protocol", kind: .string) { string($0.telemetry.otelProtocol) },
        Entry(table: "telemetry", key: "otel_service_name", kind: .string) { string($0.telemetry.otelServiceName) },
        Entry(table: "telemetry", key: "otel_sample_ratio", kind: .number) { number($0.telemetry.otelSampleRatio) },
        Entry(table: "telemetry", key: "otel_trust_traceparent", kind: .flag) { String($0.telemetry.otelTrustTraceparent) },
    ]

    private static let joinGuessing: [Entry] = [
        Entry(table: "join_guessing", key: "join_failures_before_wait", kind: .integer) { String($0.joinLimitOptions.joinFailuresBeforeWait) },
        Entry(table: "join_guessing", key: "join_first_wait", kind: .number) { number($0.joinLimitOptions.joinFirstWait) },
        Entry(table: "join_guessing", key: "join_max_wait", kind: .number) { number($0.joinLimitOptions.joinMaxWait) },
        Entry(table: "join_guessing", key: "join_budget", kind: .number) { number($0.joinLimitOptions.joinBudget) },
        Entry(table: "join_guessing", key: "join_budget_refill_seconds", kind: .number) { number($0.joinLimitOptions.joinBudgetRefillSeconds) },
    ]
}
