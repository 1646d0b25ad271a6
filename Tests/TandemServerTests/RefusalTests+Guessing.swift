import Foundation
import Logging
import NIOCore
import TandemClient
import TandemCore
import TandemProtocol
import Testing

@testable import TandemServer

/// Join-code guessing limits (protocol/README.md §3.1) on a live broker.
extension RefusalTests {
    /// A well-formed code that is not `code`.
    func wrongCode(near code: String) -> String {
        let value = String((Int(JoinCodeFormat.normalize(code)!)! + 7) % 1_000_000_000_000)
        return JoinCodeFormat.grouped(String(repeating: "0", count: 12 - value.count) + value)
    }

    /// Joins with `code`; a customer that gets in ends the session at once, so a join that
    /// should have been refused fails the test instead of hanging it.
    func tryJoin(_ broker: LiveBroker, code: String) async throws -> (code: UInt16?, errors: [ErrorMessage], joined: Bool) {
        let run = try await TandemConnection.run(configuration: broker.clientConfiguration, hello: .customer(code: code), logger: logger) {
            inbound,
            outbound in
            var errors: [ErrorMessage] = []
            var joined = false
            for try await event in inbound {
                switch event {
                case .control(.error(let error)): errors.append(error)
                case .control(.sessionJoined):
                    joined = true
                    try await outbound.send(.sessionEnd(SessionEnd()))
                default: break
                }
            }
            return (errors, joined)
        }
        return (run.closure.code, run.result?.0 ?? [], run.result?.1 ?? false)
    }

    func events(_ broker: LiveBroker, kind: AuditEventKind) async throws -> [AuditEvent] {
        try await broker.store.auditEvents(since: nil, until: nil, limit: 1000).filter { $0.kind == kind }
    }

    // The waits here are long on purpose, so that a loaded machine cannot outlast them;
    // how waits grow, expire and refill is stepped through in JoinAttemptLimiterTests.

    @Test("a network that keeps guessing must wait; meanwhile even the right code is not checked")
    func networkBackoff() async throws {
        try await LiveBroker.run(configure: {
            $0.joinLimits.failuresBeforeBackoff = 3
            $0.joinLimits.firstBackoff = 60
        }) { broker in
            let token = try await broker.addUser("alice", role: .agent)
            let agent = try await broker.startWaitingAgent(token: token, ticket: "HD-G1")
            let code = agent.created.joinCode
            let wrong = wrongCode(near: code)
            #expect(try await attempt(broker, .customer(code: wrong)).0.code == 4404)
            #expect(try await attempt(broker, .customer(code: "12-34")).0.code == 4404)
            #expect(try await attempt(broker, .customer(code: wrong)).0.code == 4404)
            let throttled = try await tryJoin(broker, code: code)
            #expect(throttled.code == 4430)
            #expect(throttled.errors.map(\.code) == ["join-throttled"])
            #expect((50...60).contains(throttled.errors.first?.retryAfter ?? 0))
            #expect(throttled.errors.first?.message.contains("from your network") == true)
            #expect(try await tryJoin(broker, code: wrong).code == 4430)
            let failed = try await events(broker, kind: "join.failed")
            #expect(failed.count == 3)
            #expect(failed.allSatisfy { $0.detail["address"] == "127.0.0.1" && $0.detail["closeCode"] == "4404" })
            let waits = try await events(broker, kind: "join.throttled")
            #expect(waits.map { $0.detail } == [["scope": "network", "address": "127.0.0.1", "failures": "3", "seconds": "60"]])
            // Neither the code tried nor the real one is anywhere in the log.
            let all = try await broker.store.auditEvents(since: nil, until: nil, limit: 1000)
            let digits = [code, wrong].map { JoinCodeFormat.normalize($0)! }
            #expect(!all.contains { event in event.detail.values.contains { value in digits.contains { value.contains($0) } } })
            #expect(broker.statistics.metrics.exposition().contains(#"tandem_join_failures_total{reason="throttled"} 2"#))
            _ = agent
        }
    }

    @Test("once the broker-wide budget is spent every network must wait, logged once")
    func brokerBudget() async throws {
        try await LiveBroker.run(configure: {
            $0.joinLimits.failuresBeforeBackoff = 100
            $0.joinLimits.globalBurst = 3
            $0.joinLimits.globalPerSecond = 1.0 / 600
        }) { broker in
            let token = try await broker.addUser("alice", role: .agent)
            let agent = try await broker.startWaitingAgent(token: token, ticket: "HD-G2")
            let code = agent.created.joinCode
            for _ in 0..<3 { #expect(try await attempt(broker, .customer(code: wrongCode(near: code))).0.code == 4404) }
            for _ in 0..<2 {
                let throttled = try await tryJoin(broker, code: code)
                #expect(throttled.code == 4430)
                #expect(throttled.errors.first?.message.contains("on this service") == true)
            }
            #expect(try await events(broker, kind: "join.throttled").map(\.detail["scope"]) == ["broker"])
            _ = agent
        }
    }

    @Test("an agent cannot hold more unused codes than the cap: 1013 until a customer joins")
    func pendingCodes() async throws {
        try await LiveBroker.run(configure: { $0.maxPendingJoinCodes = 2 }) { broker in
            let token = try await broker.addUser("alice", role: .agent)
            let first = try await broker.startWaitingAgent(token: token, ticket: "HD-P1")
            let second = try await broker.startWaitingAgent(token: token, ticket: "HD-P2")
            let (refused, errors) = try await attempt(broker, .agent(token: token, start: .init(ticket: "HD-P3", mode: .screen)))
            #expect(refused.code == 1013)
            #expect(errors.map(\.code) == ["too-many-pending-codes"])
            #expect(try await tryJoin(broker, code: first.created.joinCode).joined)
            let third = try await broker.startWaitingAgent(token: token, ticket: "HD-P3")
            #expect(third.created.ticket == "HD-P3")
            _ = (second, try await first.ending.value)
        }
    }

    @Test("join attempts count against an IPv4 address or an IPv6 /64")
    func networks() {
        var v6 = [UInt8](repeating: 0, count: 16)
        v6[0] = 0x20
        v6[1] = 0x01
        v6[2] = 0x0d
        v6[3] = 0xb8
        v6[7] = 0x05
        v6[15] = 0x99
        #expect(ClientAddress.network(ipv6: v6) == "2001:db8:0:5::/64")
        let mapped: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7]
        #expect(ClientAddress.network(ipv6: mapped) == "192.0.2.7")
        let v4 = try? SocketAddress(ipAddress: "192.0.2.7", port: 1)
        #expect(ClientAddress(v4).network == "192.0.2.7")
        let other = try? SocketAddress(ipAddress: "2001:db8:0:5:ffff::1", port: 1)
        #expect(ClientAddress(other).network == "2001:db8:0:5::/64")
    }
}
