import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization
import TandemClient
import TandemCore
import TandemProtocol
import Testing

@testable import TandemServer

/// A local helpdesk: answers 503 while `failing`, else records each delivery and answers 200.
final class HelpdeskReceiver: Sendable {
    struct Delivery: Sendable {
        var event: String
        var delivery: String
        var timestamp: String
        var signature: String
        var body: Data
    }

    let failing = Mutex(true)
    let deliveries = Mutex<[Delivery]>([])
    let refused = Mutex(0)

    /// Runs the receiver on 127.0.0.1 port 0 around `body`, which gets the hook URL.
    func run<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 1 << 20)
            if self.failing.withLock({ $0 }) {
                self.refused.withLock { $0 += 1 }
                return Response(status: .serviceUnavailable)
            }
            let headers = request.headers
            self.deliveries.withLock {
                $0.append(
                    Delivery(
                        event: headers[HTTPField.Name("X-Tandem-Event")!] ?? "",
                        delivery: headers[HTTPField.Name("X-Tandem-Delivery")!] ?? "",
                        timestamp: headers[HTTPField.Name("X-Tandem-Timestamp")!] ?? "",
                        signature: headers[HTTPField.Name("X-Tandem-Signature")!] ?? "",
                        body: Data(buffer: bytes)
                    )
                )
            }
            return Response(status: .ok)
        }
        return try await LocalHTTPServer.run(router) { try await body($0 + "/hook") }
    }

    /// Waits until `count` deliveries arrived (at most 20 s).
    /// The first `count` distinct deliveries (by `X-Tandem-Delivery`), as a receiver following
    /// §15 keeps them: delivery is at least once, so a broker stopped while a request was in
    /// flight sends that event again after its restart.
    func waitForDistinct(_ count: Int) async throws -> [Delivery] {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < .seconds(20) {
            var seen = Set<String>()
            let distinct = deliveries.withLock { $0 }.filter { seen.insert($0.delivery).inserted }
            if distinct.count >= count { return distinct }
            try await Task.sleep(for: .milliseconds(100))
        }
        var seen = Set<String>()
        return deliveries.withLock { $0 }.filter { seen.insert($0.delivery).inserted }
    }

    func waitFor(_ count: Int) async throws -> [Delivery] {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < .seconds(20) {
            let seen = deliveries.withLock { $0 }
            if seen.count >= count { return seen }
            try await Task.sleep(for: .milliseconds(100))
        }
        return deliveries.withLock { $0 }
    }
}

@Suite("Helpdesk webhooks from the audit log", .timeLimit(.minutes(2)))
struct WebhookTests {
    let secret = "helpdesk-shared-secret"

    func configure(_ url: String) -> @Sendable (inout BrokerConfiguration) -> Void {
        { [secret] configuration in
            configuration.webhooks = [.init(url: url, onStart: true)]
            configuration.webhookSecret = secret
            configuration.webhookPollInterval = .milliseconds(100)
            configuration.webhookFirstBackoff = .milliseconds(200)
            configuration.webhookMaxBackoff = .seconds(1)
        }
    }

    func expectSigned(_ delivery: HelpdeskReceiver.Delivery) {
        var message = Data(delivery.timestamp.utf8)
        message.append(UInt8(ascii: "."))
        message.append(delivery.body)
        let expected = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Data(secret.utf8)))
        let hex = expected.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        #expect(delivery.signature == "sha256=" + hex)
    }

    func payload(_ delivery: HelpdeskReceiver.Delivery) throws -> WebhookPayload {
        try TandemJSON.makeDecoder().decode(WebhookPayload.self, from: delivery.body)
    }

    @Test("a helpdesk that is down gets the start and end summaries, signed and in order, once it is back; /metrics counts and lags")
    func retries() async throws {
        let receiver = HelpdeskReceiver()
        try await receiver.run { url in
            try await LiveBroker.run(configure: configure(url)) { broker in
                let alice = try await broker.addUser("alice", role: .agent)
                let agent = try await broker.startWaitingAgent(token: alice, ticket: "HD-WH-1")
                let ended = try await TandemConnection.run(
                    configuration: broker.clientConfiguration,
                    hello: .customer(code: agent.created.joinCode),
                    logger: Logger(label: "test")
                ) { inbound, outbound in
                    var events = inbound.makeAsyncIterator()
                    _ = try await events.nextControl()
                    try await outbound.send(.sessionEnd(SessionEnd()))
                    return try await events.untilEnded()
                }
                #expect(ended.result??.reason == .customerLeft)
                // Down for a while: the broker keeps retrying.
                while receiver.refused.withLock({ $0 }) < 3 { try await Task.sleep(for: .milliseconds(50)) }
                // Both summaries wait, and each refused POST is counted as failed.
                let down = try await MetricsText.poll(broker) { $0.value("tandem_webhook_lag_events") == 2 }
                #expect(down.value("tandem_webhook_lag_events") == 2)
                #expect((down.value(#"tandem_webhook_deliveries_total{result="failed"}"#) ?? 0) >= 3)
                #expect(down.value(#"tandem_webhook_deliveries_total{result="delivered"}"#) == 0)
                receiver.failing.withLock { $0 = false }
                let deliveries = try await receiver.waitFor(2)
                #expect(deliveries.map(\.event) == ["session.created", "session.ended"])
                for delivery in deliveries { expectSigned(delivery) }
                let end = try payload(deliveries[1])
                #expect(end.session?.ticket == "HD-WH-1")
                #expect(end.session?.endReason == .customerLeft)
                #expect(end.session?.id == agent.created.sessionID)
                #expect(Int(deliveries[0].delivery)! < Int(deliveries[1].delivery)!)
                try await Task.sleep(for: .milliseconds(500))
                #expect(receiver.deliveries.withLock { $0.count } == 2, "nothing is sent twice after a 2xx")
                let caughtUp = try await MetricsText.poll(broker) {
                    $0.value(#"tandem_webhook_deliveries_total{result="delivered"}"#) == 2 && $0.value("tandem_webhook_lag_events") == 0
                }
                #expect(caughtUp.value(#"tandem_webhook_deliveries_total{result="delivered"}"#) == 2)
                #expect(caughtUp.value("tandem_webhook_lag_events") == 0)
                let refused = Double(receiver.refused.withLock { $0 })
                #expect(caughtUp.value(#"tandem_webhook_deliveries_total{result="failed"}"#) == refused)
                _ = try await agent.ending.value
            }
        }
    }

    @Test("a helpdesk nobody listens for: the attempt counts as failed, the summary waits in the lag")
    func unreachable() async throws {
        // A port that was just listened on and is closed now.
        let url = try await HelpdeskReceiver().run { $0 }
        try await LiveBroker.run(configure: configure(url)) { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let agent = try await broker.startWaitingAgent(token: alice, ticket: "HD-WH-3")
            let metrics = try await MetricsText.poll(broker) {
                ($0.value(#"tandem_webhook_deliveries_total{result="failed"}"#) ?? 0) >= 1 && $0.value("tandem_webhook_lag_events") == 1
            }
            #expect((metrics.value(#"tandem_webhook_deliveries_total{result="failed"}"#) ?? 0) >= 1)
            #expect(metrics.value(#"tandem_webhook_deliveries_total{result="delivered"}"#) == 0)
            // session.created waits; nothing else for the helpdesk yet.
            #expect(metrics.value("tandem_webhook_lag_events") == 1)
            _ = agent
        }
    }

    @Test("a summary written while the helpdesk was down is delivered by the restarted broker")
    func survivesRestart() async throws {
        let receiver = HelpdeskReceiver()
        let directory = NSTemporaryDirectory() + "tandem-webhook-\(UUID().uuidString)"
        try await receiver.run { url in
            let sessionID = try await LiveBroker.run(directory: directory, configure: configure(url)) { broker in
                let alice = try await broker.addUser("alice", role: .agent)
                let agent = try await broker.startWaitingAgent(token: alice, ticket: "HD-WH-2", ttlSeconds: 1)
                _ = try await agent.ending.value
                while receiver.refused.withLock({ $0 }) < 2 { try await Task.sleep(for: .milliseconds(50)) }
                return agent.created.sessionID
            }
            receiver.failing.withLock { $0 = false }
            try await LiveBroker.run(directory: directory, configure: configure(url)) { _ in
                let deliveries = try await receiver.waitForDistinct(2)
                #expect(deliveries.map(\.event) == ["session.created", "session.ended"])
                #expect(try deliveries.map { try payload($0).session?.id } == [sessionID, sessionID])
                #expect(try payload(deliveries[1]).session?.endReason == .expired)
            }
        }
    }
}
