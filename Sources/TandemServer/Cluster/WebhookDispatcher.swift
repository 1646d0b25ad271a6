import AsyncHTTPClient
import Crypto
import Logging
import NIOCore
import ServiceLifecycle
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Sends helpdesk webhooks (protocol/README.md §15): for every `session.ended` (and, when
/// asked, `session.created`) event of the audit log, a signed JSON summary is POSTed to each
/// configured URL. The audit log is the outbox: each URL has a cursor (the last event it
/// got) in the store, advanced only after a 2xx answer, so nothing is lost while a helpdesk
/// is down or the broker restarts; failures are retried with doubling waits.
/// `tandem_webhook_deliveries_total` counts the POSTs by result, `tandem_webhook_lag_events`
/// the events not yet delivered (summed over the targets, as of each target's last attempt).
struct WebhookDispatcher: Service {
    let store: any TandemStore
    let configuration: BrokerConfiguration
    let logger: Logger
    var metrics: BrokerMetrics? = nil

    /// A target's retry state.
    struct Backoff {
        var failures = 0
        var nextAttempt = ContinuousClock.now
    }

    func run() async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        try? await cancelWhenGracefulShutdown {
            var backoff: [String: Backoff] = [:]
            var lag: [String: Int] = [:]
            while !Task.isCancelled {
                for target in configuration.webhooks {
                    var state = backoff[target.url] ?? Backoff()
                    if ContinuousClock.now >= state.nextAttempt {
                        if let pending = await deliver(to: target, client: client, backoff: &state) { lag[target.url] = pending }
                        backoff[target.url] = state
                        metrics?.webhookLag.record(lag.values.reduce(0, +))
                    }
                }
                try await Task.sleep(for: configuration.webhookPollInterval)
            }
        }
        try? await client.shutdown()
    }

    /// Gives each URL seen for the first time a cursor at the current end of the log, before
    /// the broker takes sessions: a new helpdesk gets the sessions from now on, not the history.
    static func startCursors(store: any TandemStore, targets: [BrokerConfiguration.WebhookTarget]) async throws {
        for target in targets where try await store.webhookCursor(url: target.url) == nil {
            var head: Int64 = 0
            while let last = try await store.auditEvents(afterSeq: head, limit: 1000).last { head = last.seq }
            try await store.setWebhookCursor(url: target.url, seq: head)
        }
    }

    /// Delivers what `target` has not had yet, in log order, stopping at the first failure.
    /// Returns how many events `target` still waits for (0 when it has everything), or nil
    /// when the store could not tell.
    @discardableResult
    func deliver(to target: BrokerConfiguration.WebhookTarget, client: HTTPClient, backoff: inout Backoff) async -> Int? {
        do {
            guard var cursor = try await store.webhookCursor(url: target.url) else { return nil }
            while true {
                let events = try await store.auditEvents(afterSeq: cursor, limit: 100)
                guard !events.isEmpty else { return 0 }
                for event in events {
                    // A callback request (§20.4) has no session yet: it is sent with its ticket.
                    var session: SessionRecord?
                    if target.wants(event.kind), let sessionID = event.sessionID { session = try await store.session(id: sessionID) }
                    if target.wants(event.kind), session != nil || event.kind == .queueCallback {
                        let delivered = await post(event: event, session: session, to: target, client: client)
                        metrics?.webhookPosted(delivered: delivered)
                        guard delivered else {
                            try await store.setWebhookCursor(url: target.url, seq: cursor)
                            backoff.failures += 1
                            let wait = min(configuration.webhookFirstBackoff * (1 << min(backoff.failures - 1, 20)), configuration.webhookMaxBackoff)
                            backoff.nextAttempt = .now + wait
                            return try await pending(for: target, after: cursor)
                        }
                        backoff.failures = 0
                    }
                    cursor = event.seq
                }
                try await store.setWebhookCursor(url: target.url, seq: cursor)
            }
        } catch {
            logger.error("Webhook delivery stopped on a store error", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            return nil
        }
    }

    /// The most events ``pending(for:after:)`` reads: a helpdesk down for hours on a busy
    /// log is not re-read in full at each retry; the lag then shows at least this many.
    static let maxLagScan = 10_000

    /// The events after `cursor` that `target` is to get (its lag once a delivery failed),
    /// counted over at most ``maxLagScan`` events of the log.
    func pending(for target: BrokerConfiguration.WebhookTarget, after cursor: Int64) async throws -> Int {
        var count = 0
        var scanned = 0
        var seq = cursor
        while scanned < Self.maxLagScan {
            let events = try await store.auditEvents(afterSeq: seq, limit: 1000)
            guard let last = events.last else { return count }
            count += events.lazy.filter { target.wants($0.kind) && ($0.sessionID != nil || $0.kind == .queueCallback) }.count
            scanned += events.count
            seq = last.seq
        }
        return count
    }

    /// POSTs one summary; true on a 2xx answer.
    func post(event: AuditEvent, session: SessionRecord?, to target: BrokerConfiguration.WebhookTarget, client: HTTPClient) async -> Bool {
        let payload = WebhookPayload(
            event: event.kind.rawValue,
            delivery: String(event.seq),
            occurredAt: event.at,
            session: session,
            survey: event.kind == .surveyAnswered ? WebhookPayload.Survey(detail: event.detail) : nil,
            callback: event.kind == .queueCallback ? WebhookPayload.Callback(detail: event.detail) : nil
        )
        return await Self.send(payload, to: target, client: client, configuration: configuration, logger: logger)
    }

    /// POSTs `payload` to `target`, signed when there is a secret; true on a 2xx answer.
    static func send(
        _ payload: WebhookPayload,
        to target: BrokerConfiguration.WebhookTarget,
        client: HTTPClient,
        configuration: BrokerConfiguration,
        logger: Logger
    ) async -> Bool {
        let host = URL(string: target.url)?.host ?? "?"
        do {
            let body = try TandemJSON.makeEncoder().encode(payload)
            let timestamp = String(Int(Date().timeIntervalSince1970))
            var request = HTTPClientRequest(url: target.url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "User-Agent", value: "tandem-webhook/1")
            request.headers.add(name: "X-Tandem-Event", value: payload.event)
            request.headers.add(name: "X-Tandem-Delivery", value: payload.delivery)
            request.headers.add(name: "X-Tandem-Timestamp", value: timestamp)
            if let secret = configuration.webhookSecret {
                request.headers.add(name: "X-Tandem-Signature", value: "sha256=" + Self.signature(secret: secret, timestamp: timestamp, body: body))
            }
            request.body = .bytes(ByteBuffer(bytes: body))
            let response = try await client.execute(request, timeout: .seconds(10))
            _ = try? await response.body.collect(upTo: 64 << 10)
            guard (200..<300).contains(response.status.code) else {
                logger.warning("Webhook refused", metadata: ["tandem.webhook.host": "\(host)", "http.status": "\(response.status.code)"])
                return false
            }
            logger.debug("Webhook delivered", metadata: ["tandem.webhook.host": "\(host)", "tandem.session.id": "\(payload.session?.id ?? "-")"])
            return true
        } catch {
            logger.warning("Webhook failed", metadata: ["tandem.webhook.host": "\(host)", "error": "\(String(reflecting: type(of: error)))"])
            return false
        }
    }

    /// Hex HMAC-SHA256 of `timestamp + "." + body` under `secret`.
    static func signature(secret: String, timestamp: String, body: Data) -> String {
        var message = Data(timestamp.utf8)
        message.append(UInt8(ascii: "."))
        message.append(body)
        let code = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Data(secret.utf8)))
        return code.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
    }
}

/// The JSON body of a webhook (§15).
struct WebhookPayload: Codable, Sendable {
    /// `session.ended`, `survey.answered`, `queue.callback` or `session.created`.
    var event: String
    /// The audit event's sequence number: the same delivery may come again after a failure,
    /// so receivers deduplicate on it.
    var delivery: String
    var occurredAt: Date
    /// The session as the log holds it when the webhook is sent: ticket, agent, times,
    /// outcome, end reason, traffic.
    /// Absent for `queue.callback`: the customer was never in a session.
    var session: SessionRecord?
    /// `survey.answered` only: the customer's answer (§5.16).
    var survey: Survey? = nil
    /// `queue.callback` only: the customer's request (§20.4).
    var callback: Callback? = nil
    /// `audit.tree-head` only: the signed tree head of a checkpoint (§11.10).
    var treeHead: TreeHead? = nil

    struct Callback: Codable, Sendable, Equatable {
        var queueId: String
        var ticket: String
        var tier: String
        var line: String
        var waitedSeconds: Int
        var message: String
        var contact: String?

        init(detail: [String: String]) {
            queueId = detail["queueId"] ?? ""
            ticket = detail["ticket"] ?? ""
            tier = detail["tier"] ?? ""
            line = detail["line"] ?? ""
            waitedSeconds = (detail["waitedMs"].flatMap(Int.init) ?? 0) / 1000
            message = detail["message"] ?? ""
            contact = detail["contact"]
        }
    }

    struct Survey: Codable, Sendable, Equatable {
        var solved: Bool
        var score: Int
        var nps: Int?
        var comment: String?

        init?(detail: [String: String]) {
            guard let score = detail["score"].flatMap(Int.init) else { return nil }
            solved = detail["solved"] == "yes"
            self.score = score
            nps = detail["nps"].flatMap(Int.init)
            comment = detail["comment"]
        }
    }
}
