import Foundation
import Logging
import TandemClient
import TandemCore
import TandemProtocol
import Testing

@testable import TandemServer

/// Anonymous customers against the queue and the audit log (protocol/README.md §13.1, §16,
/// §16.1): per-network queue entries, tiers only from signed help links, and budgets for what
/// failed resumes and queue entries write to the log. The attackers are Python clients
/// (Tests/interop/anonymous_flood.py) binding loopback source addresses, so each looks like
/// another network.
@Suite("Live TLS broker: queue abuse and audit-log floods", .timeLimit(.minutes(2)))
struct QueueAbuseTests {
    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("interop/anonymous_flood.py").path

    struct Outcome: Decodable {
        var queued: String?
        var close: Int?
        var error: String?
        var retryAfter: Int?
    }

    struct Fill: Decodable {
        var sources: [String: [Outcome]]
        var real: Outcome
    }

    struct Flood: Decodable {
        var attempts: Int
        var closes: [String: Int]
        var errors: [String: Int]
        var queued: Int
        var retryAfter: Int
    }

    func python<T: Decodable>(_ broker: LiveBroker, _ arguments: [String], as type: T.Type) async throws -> T {
        let child = try await ChildProcess.run(
            ["python3", Self.script, arguments[0], "127.0.0.1", String(broker.port), broker.caFile] + arguments.dropFirst()
        )
        guard child.status == 0 else { throw TestFailure("anonymous_flood.py failed: \(String(decoding: child.stderr, as: UTF8.self))") }
        return try JSONDecoder().decode(T.self, from: child.stdout)
    }

    func events(_ broker: LiveBroker, kind: AuditEventKind) async throws -> [AuditEvent] {
        try await broker.store.auditEvents(since: nil, until: nil, limit: 10_000).filter { $0.kind == kind }
    }

    func metrics(_ broker: LiveBroker) -> String { broker.statistics.metrics.exposition() }

    static func queued(_ message: ControlMessage) -> QueueStatus? {
        if case .queueStatus(let status) = message { status } else { nil }
    }

    /// The hello of the customer who opens `url` (a help link).
    static func hello(link url: String, mode: SessionMode = .screen) throws -> Hello {
        let items = try #require(URLComponents(string: url)?.queryItems)
        func value(_ name: String) throws -> String { try #require(items.first { $0.name == name }?.value) }
        return .queue(
            .init(
                ticket: try value("ticket"),
                tier: try #require(SupportTier(rawValue: try value("tier"))),
                mode: mode,
                line: try value("line"),
                expires: try #require(Int(try value("expires"))),
                signature: try value("sig"),
                skills: items.first { $0.name == "skills" }?.value.map { $0.split(separator: ",").map(String.init) }
            )
        )
    }

    @Test("two networks try to fill the queue: each holds at most 2 entries; a customer from a third network still gets in")
    func fillFromTwoNetworks() async throws {
        try await LiveBroker.run { broker in
            let fill = try await python(broker, ["fill", "127.0.0.2,127.0.0.3", "5", "127.0.0.4"], as: Fill.self)
            for source in ["127.0.0.2", "127.0.0.3"] {
                let outcomes = try #require(fill.sources[source])
                #expect(outcomes.compactMap(\.queued).count == 2, "\(source): \(outcomes)")
                #expect(outcomes.filter { $0.close == 4431 && $0.error == "queue-limit" }.count == 3, "\(source): \(outcomes)")
            }
            #expect(fill.real.queued == "basic")
            let entered = try await events(broker, kind: "queue.entered")
            #expect(entered.count == 5)
            #expect(Set(entered.compactMap { $0.detail["address"] }) == ["127.0.0.2", "127.0.0.3", "127.0.0.4"])
            #expect(metrics(broker).contains(#"tandem_queue_refusals_total{reason="queue-limit"} 6"#))
        }
    }

    @Test("an unsigned customer asking for premium waits and is logged as basic; a signed premium link waits as premium, ahead")
    func tiersOnlyFromSignedLinks() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let claimer = LiveParticipant.connect(broker, hello: .queue(.init(ticket: "HD-CLAIM", tier: .premium)))
            let claimed = try await claimer.waitFor("queue.status", Self.queued)
            #expect(claimed.tier == .basic)

            let grant = try await broker.api(alice) { try await $0.helpLink(HelpLinkRequest(ticket: "HD-PAID", tier: .premium)) }
            #expect(grant.url.hasPrefix("https://127.0.0.1:\(broker.port)/help?ticket=HD-PAID&tier=premium&line=line1&expires="))
            #expect(grant.tier == .premium)
            #expect(abs(grant.expiresAt.timeIntervalSinceNow - 86_400) < 60)
            let paying = LiveParticipant.connect(broker, hello: try Self.hello(link: grant.url))
            let status = try await paying.waitFor("queue.status") { Self.queued($0).flatMap { $0.position == 1 ? $0 : nil } }
            #expect(status.tier == .premium)
            try await claimer.waitFor("position 2") { Self.queued($0).flatMap { $0.position == 2 ? $0 : nil } }

            let entered = try await events(broker, kind: "queue.entered")
            #expect(entered.map { $0.detail["ticket"] } == ["HD-CLAIM", "HD-PAID"])
            #expect(entered.map { $0.detail["tier"] } == ["basic", "premium"])
            #expect(entered.map { $0.detail["signed"] } == ["false", "true"])
            let listing = try await broker.api(alice) { try await $0.queue() }
            #expect(listing.entries.map(\.tier) == [.premium, .basic])
            claimer.leave()
            paying.leave()
        }
    }

    @Test("a tampered or expired help link is refused (4432); only agents and admins issue links")
    func badLinks() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let audrey = try await broker.addUser("audrey", role: .auditor)
            let grant = try await broker.api(alice) {
                try await $0.helpLink(HelpLinkRequest(ticket: "HD-B1", tier: .basic, line: "line2", expiresInSeconds: 600))
            }
            var tampered = try #require(try Self.hello(link: grant.url).queue)
            #expect(tampered.line == "line2")
            tampered.tier = .premium
            let forged = LiveParticipant.connect(broker, hello: .queue(tampered))
            #expect(try await forged.closure.value.tandemCode == .helpLinkRefused)
            #expect(forged.messages.contains { if case .error(let error) = $0 { error.code == "help-link-invalid" } else { false } })

            // Signed with this broker's key, but an hour old.
            let old = HelpLink(ticket: "HD-B2", tier: .premium, expires: Int(Date().timeIntervalSince1970) - 3600)
            let signature = HelpLinkSigner(deriving: try broker.signer()).signature(for: old)
            let late = LiveParticipant.connect(
                broker,
                hello: .queue(.init(ticket: old.ticket, tier: old.tier, line: old.line, expires: old.expires, signature: signature))
            )
            #expect(try await late.closure.value.tandemCode == .helpLinkRefused)
            #expect(late.messages.contains { if case .error(let error) = $0 { error.code == "help-link-expired" } else { false } })

            #expect(try await events(broker, kind: "queue.entered").isEmpty)
            #expect(metrics(broker).contains(#"tandem_queue_refusals_total{reason="help-link"} 2"#))
            await #expect(throws: TandemAPIClient.Failure.self) {
                _ = try await broker.api(audrey) { try await $0.helpLink(HelpLinkRequest(ticket: "HD-B3", tier: .premium)) }
            }
            await #expect(throws: TandemAPIClient.Failure.self) {
                _ = try await broker.api(alice) {
                    try await $0.helpLink(HelpLinkRequest(ticket: "HD-B4", tier: .premium, expiresInSeconds: 30 * 86_400))
                }
            }
        }
    }

    @Test("a resume-token flood from one network adds 3 events and one throttling event; the refusals are counted, not logged")
    func resumeFlood() async throws {
        try await LiveBroker.run(configure: {
            $0.anonymousWriteLimits.failedResumesPerNetwork = .init(burst: 3, perHour: 1)
        }) { broker in
            let flood = try await python(broker, ["resume", "127.0.0.5", "3"], as: Flood.self)
            #expect(flood.attempts >= 10)
            #expect(flood.closes["4411"] == 3)
            #expect(flood.closes["4430"] == flood.attempts - 3)
            #expect(flood.errors["resume-throttled"] == flood.attempts - 3)
            #expect(flood.retryAfter > 0)
            let failed = try await events(broker, kind: "resume.failed")
            #expect(failed.count == 3)
            let throttled = try await events(broker, kind: "resume.throttled")
            #expect(throttled.map(\.detail["scope"]) == ["network"])
            #expect(throttled.first?.detail["address"] == "127.0.0.5")
            #expect(metrics(broker).contains(#"tandem_resume_failures_total{reason="throttled"} \#(flood.attempts - 3)"#))
            #expect(metrics(broker).contains(#"tandem_resume_failures_total{reason="refused"} 3"#))
        }
    }

    @Test("entering and leaving the queue in a loop from one network adds 4 entries (8 events) and one throttling event")
    func queueChurn() async throws {
        try await LiveBroker.run(configure: {
            $0.anonymousWriteLimits.queueEntriesPerNetwork = .init(burst: 4, perHour: 1)
        }) { broker in
            let flood = try await python(broker, ["churn", "127.0.0.6", "3"], as: Flood.self)
            #expect(flood.attempts >= 10)
            #expect(flood.queued == 4)
            #expect(flood.errors["queue-throttled"] == flood.attempts - 4)
            #expect(flood.closes["4430"] == flood.attempts - 4)
            #expect(try await events(broker, kind: "queue.entered").count == 4)
            #expect(try await events(broker, kind: "queue.left").count == 4)
            #expect(try await events(broker, kind: "queue.throttled").map(\.detail["scope"]) == ["network"])
            #expect(metrics(broker).contains(#"tandem_queue_refusals_total{reason="throttled"} \#(flood.attempts - 4)"#))
        }
    }

    @Test("many networks together hit the broker-wide budget (logged once); customers with a signed link still get in")
    func brokerBudget() async throws {
        try await LiveBroker.run(configure: {
            $0.anonymousWriteLimits.anonymous = .init(burst: 5, perHour: 1)
        }) { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let sources = (10..<20).map { "127.0.0.\($0)" }.joined(separator: ",")
            let flood = try await python(broker, ["resume", sources, "2"], as: Flood.self)
            #expect(flood.attempts >= 10)
            #expect(flood.closes["4411"] == 5)
            #expect(flood.closes["4430"] == flood.attempts - 5)
            #expect(try await events(broker, kind: "resume.failed").count == 5)
            let throttled = try await events(broker, kind: "resume.throttled")
            #expect(throttled.map(\.detail["scope"]) == ["broker"])
            #expect(throttled.first?.detail["pool"] == "anonymous")

            let unsigned = LiveParticipant.connect(broker, hello: .queue(.init(ticket: "HD-LATE", tier: .basic)))
            #expect(try await unsigned.closure.value.tandemCode == .joinThrottled)
            #expect(unsigned.messages.contains { if case .error(let error) = $0 { error.code == "queue-throttled" } else { false } })
            let grant = try await broker.api(alice) { try await $0.helpLink(HelpLinkRequest(ticket: "HD-SENT", tier: .standard)) }
            let sent = LiveParticipant.connect(broker, hello: try Self.hello(link: grant.url))
            #expect(try await sent.waitFor("queue.status", Self.queued).tier == .standard)
            sent.leave()
        }
    }
}
