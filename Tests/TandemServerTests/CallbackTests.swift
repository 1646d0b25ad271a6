import Foundation
import TandemClient
import TandemCore
import TandemProtocol
import Testing

@testable import TandemServer

/// Callback requests from waiting customers (protocol/README.md §20.4): an anonymous input
/// path, so each attack of SECURITY.md's row is performed here.
@Suite("Live TLS broker: callback requests (protocol/README.md §20.4)", .timeLimit(.minutes(2)))
struct CallbackTests {
    static func status(_ message: ControlMessage) -> QueueStatus? {
        if case .queueStatus(let status) = message { status } else { nil }
    }

    static func error(_ code: ErrorCode) -> (ControlMessage) -> ErrorMessage? {
        { if case .error(let error) = $0, error.code == code { error } else { nil } }
    }

    @Test(
        "a callback above its lengths is refused; after the wait one is logged once, sent to the webhook, the customer leaves (1000) and is not counted as abandoned"
    )
    func callback() async throws {
        let receiver = HelpdeskReceiver()
        receiver.failing.withLock { $0 = false }
        try await receiver.run { url in
            try await LiveBroker.run(configure: {
                $0.routing.callbackAfter = .seconds(2)
                $0.webhooks = [.init(url: url)]
                $0.webhookSecret = "callback-test-secret"
                $0.webhookPollInterval = .milliseconds(100)
            }) { broker in
                let audrey = try await broker.addUser("audrey", role: .auditor)
                let customer = LiveParticipant.connect(broker, hello: .queue(.init(ticket: "HD-CB1", tier: .basic)))
                let first = try await customer.waitFor("queue.status", Self.status)
                #expect(first.callbackOffered == nil)
                let offered = try await customer.waitFor("callbackOffered") { Self.status($0).flatMap { $0.callbackOffered == true ? $0 : nil } }
                #expect(offered.position == 1)
                // Over the lengths: refused with the field, nothing logged.
                try await customer.send(.queueCallback(QueueCallback(message: String(repeating: "x", count: 501))))
                let long = try await customer.waitFor("invalid-field", Self.error(.invalidField))
                #expect(long.message.contains("message"))
                // One character stacked with thousands of combining marks is still over the limit (bytes).
                try await customer.send(.queueCallback(QueueCallback(message: "e" + String(repeating: "\u{301}", count: 3000))))
                try await customer.waitFor("invalid-field for the stacked message") { message in
                    Self.error(.invalidField)(message).flatMap {
                        customer.messages.filter { Self.error(.invalidField)($0) != nil }.count >= 2 ? $0 : nil
                    }
                }
                try await customer.send(.queueCallback(QueueCallback(message: "ok", contact: String(repeating: "9", count: 101))))
                try await customer.waitFor("invalid-field for contact") {
                    Self.error(.invalidField)($0).flatMap { $0.message.contains("contact") ? $0 : nil }
                }
                #expect(try await broker.store.auditEvents(since: nil, until: nil, limit: 100).filter { $0.kind == .queueCallback }.isEmpty)

                let text = "Router blinks red\u{1B}[2J; call after 5"
                try await customer.send(.queueCallback(QueueCallback(message: text, contact: "+41 44 000 00 00")))
                let recorded = try await customer.waitFor("queue.callback-recorded") { if case .queueCallbackRecorded(let r) = $0 { r } else { nil } }
                #expect(recorded.ticket == "HD-CB1")
                #expect(recorded.queueID.hasPrefix("q_"))
                #expect(try await customer.closure.value.tandemCode == .normal)

                let events = try await broker.store.auditEvents(since: nil, until: nil, limit: 100)
                let callbacks = events.filter { $0.kind == .queueCallback }
                #expect(callbacks.count == 1)
                #expect(callbacks.first?.detail["message"] == text)
                #expect(callbacks.first?.detail["contact"] == "+41 44 000 00 00")
                #expect(callbacks.first?.detail["queueId"] == recorded.queueID)
                #expect(callbacks.first?.actor == "customer")
                #expect(!events.contains { $0.kind == .queueLeft })
                let stats = try await broker.api(audrey) { try await $0.stats(AuditQuery()) }
                #expect(stats.queue?.callbacks == 1)
                #expect(stats.queue?.abandoned == 0)
                #expect(try await MetricsText.fetch(broker).value("tandem_queue_callbacks_total") == 1)

                let deliveries = try await receiver.waitForDistinct(1)
                let delivery = try #require(deliveries.first { $0.event == "queue.callback" })
                let body = try #require(try JSONSerialization.jsonObject(with: delivery.body) as? [String: Any])
                #expect(body["session"] == nil)
                let callback = try #require(body["callback"] as? [String: Any])
                #expect(callback["ticket"] as? String == "HD-CB1")
                #expect(callback["message"] as? String == text)
                #expect(callback["contact"] as? String == "+41 44 000 00 00")
                #expect(callback["queueId"] as? String == recorded.queueID)
                #expect(delivery.signature.hasPrefix("sha256="))
            }
        }
    }

    @Test("a waiting customer's messages are held to the control-message size (1009) like any participant's")
    func waitingSize() async throws {
        try await LiveBroker.run(configure: { $0.limits.maxControlMessageSize = 4096 }) { broker in
            let customer = LiveParticipant.connect(broker, hello: .queue(.init(ticket: "HD-CB3", tier: .basic)))
            try await customer.waitFor("queue.status", Self.status)
            try await customer.send(.queueCallback(QueueCallback(message: String(repeating: "x", count: 5000))))
            #expect(try await customer.closure.value.tandemCode == .messageTooBig)
            let left = try await RoutingTests.events(broker, .queueLeft)
            #expect(left.first?.detail["reason"] == "customer-left")
        }
    }

    @Test("before the callback wait a callback is refused (callback-unavailable), not logged, and the customer keeps waiting")
    func tooEarly() async throws {
        try await LiveBroker.run(configure: { $0.routing.callbackAfter = .seconds(300) }) { broker in
            let customer = LiveParticipant.connect(broker, hello: .queue(.init(ticket: "HD-CB4", tier: .basic)))
            try await customer.waitFor("queue.status", Self.status)
            try await customer.send(.queueCallback(QueueCallback(message: "please call")))
            try await customer.waitFor("callback-unavailable", Self.error(.callbackUnavailable))
            try await customer.send(.chat(Chat(text: "still there?")))
            try await customer.waitFor("queued", Self.error(.queued))
            #expect(try await broker.store.auditEvents(since: nil, until: nil, limit: 100).filter { $0.kind == .queueCallback }.isEmpty)
            #expect(try await broker.api(try await broker.addUser("alice", role: .agent)) { try await $0.queue() }.entries.count == 1)
        }
    }

    @Test("with --callback-after 0 a callback is never offered nor accepted")
    func disabled() async throws {
        try await LiveBroker.run(configure: { $0.routing.callbackAfter = .zero }) { broker in
            let customer = LiveParticipant.connect(broker, hello: .queue(.init(ticket: "HD-CB2", tier: .basic)))
            try await customer.waitFor("queue.status", Self.status)
            try await customer.send(.queueCallback(QueueCallback(message: "call me")))
            try await customer.waitFor("callback-unavailable", Self.error(.callbackUnavailable))
            #expect(customer.messages.compactMap(Self.status).allSatisfy { $0.callbackOffered == nil })
        }
    }
}
