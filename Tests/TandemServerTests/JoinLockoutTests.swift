import Foundation
import Logging
import TandemClient
import TandemCore
import TandemProtocol
import Testing

/// An attacker guessing join codes from many addresses must not keep real customers out
/// (protocol/README.md §3.1): customers with the link join at once, customers typing the code
/// from a new network get the newcomer reserve in turn, and the attacker's checked guesses
/// stay within both budgets.
@Suite("Live TLS broker: guessing from many addresses locks no customer out", .timeLimit(.minutes(3)))
struct JoinLockoutTests {
    let logger = Logger(label: "tandem.test.client")

    static let flood = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("interop/join_flood.py").path

    struct FloodSummary: Decodable {
        var attempts: Int
        var closes: [String: Int]
        var errors: Int
        var seconds: Double
        var addresses: Int
    }

    /// How a patient customer fared: joined or not, seconds from its first attempt, attempts.
    struct Outcome: Sendable {
        var joined: Bool
        var seconds: Double
        var attempts: Int
        var closes: [UInt16?]
    }

    /// Joins with `hello`, trying again after each `join-throttled` wait as the customer page
    /// and `tandem join` do (never sooner), until it joins or `limit` seconds have passed. A
    /// customer that gets in leaves at once.
    func joinPatiently(_ broker: LiveBroker, _ hello: Hello, limit: Double) async throws -> Outcome {
        let start = Date()
        var outcome = Outcome(joined: false, seconds: 0, attempts: 0, closes: [])
        while Date().timeIntervalSince(start) < limit {
            outcome.attempts += 1
            let run = try await TandemConnection.run(configuration: broker.clientConfiguration, hello: hello, logger: logger) { inbound, outbound in
                var joined = false
                var retryAfter: Int?
                for try await event in inbound {
                    switch event {
                    case .control(.sessionJoined):
                        joined = true
                        try await outbound.send(.sessionEnd(SessionEnd()))
                    case .control(.error(let error)):
                        retryAfter = error.retryAfter ?? retryAfter
                    default:
                        break
                    }
                }
                return (joined, retryAfter)
            }
            outcome.closes.append(run.closure.code)
            if run.result?.0 == true {
                outcome.joined = true
                break
            }
            guard run.closure.tandemCode == .joinThrottled, let wait = run.result?.1, Date().timeIntervalSince(start) + Double(wait) < limit else {
                break
            }
            try await Task.sleep(for: .seconds(wait))
        }
        outcome.seconds = Date().timeIntervalSince(start)
        return outcome
    }

    @Test("while 200 addresses poll with wrong codes, a customer with the link joins at once and one typing the code within 30 s")
    func floodFromManyAddresses() async throws {
        // Small budgets so the attack empties them at once: shared 2, then 1 per 20 s; the
        // newcomer reserve 2, then 1 per 10 s.
        let shared = (burst: 2.0, perSecond: 1.0 / 20)
        let reserve = (burst: 2.0, perSecond: 1.0 / 10)
        try await LiveBroker.run(configure: {
            $0.joinLimits.globalBurst = shared.burst
            $0.joinLimits.globalPerSecond = shared.perSecond
            $0.joinLimits.newcomerBurst = reserve.burst
            $0.joinLimits.newcomerPerSecond = reserve.perSecond
        }) { broker in
            let token = try await broker.addUser("alice", role: .agent)
            let linkSession = try await broker.startWaitingAgent(token: token, ticket: "HD-L1")
            let typedSession = try await broker.startWaitingAgent(token: token, ticket: "HD-L2")
            let key = try #require(JoinLink.key(fromLink: linkSession.created.joinURL))
            #expect(linkSession.created.joinURL.hasSuffix(JoinLink.path(code: JoinCodeFormat.normalize(linkSession.created.joinCode)!, key: key)))

            // The attack: 200 source addresses (127.0.1.1 …), 20 at a time, each polling
            // without waiting as told, for at most 60 s.
            let stopFile = broker.directory + "/flood.stop"
            let url = "wss://127.0.0.1:\(broker.port)\(TandemWire.webSocketPath)"
            let attack = Task {
                try await ChildProcess.run(["python3", Self.flood, url, broker.caFile, "200", "20", "60", stopFile])
            }
            let attackStart = Date()
            // Every address has tried once: the shared budget and the reserve's burst are gone.
            while !FileManager.default.fileExists(atPath: stopFile + ".ready"), Date().timeIntervalSince(attackStart) < 30 {
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(FileManager.default.fileExists(atPath: stopFile + ".ready"), "the attack did not get going")
            try await Task.sleep(for: .seconds(2))

            // (i) The link's key: in at the first attempt.
            let withLink = try await joinPatiently(broker, .customer(code: linkSession.created.joinCode, key: key), limit: 40)
            // (ii) The code typed by hand, from a network that never failed: the reserve, in turn.
            let typed = try await joinPatiently(broker, .customer(code: typedSession.created.joinCode), limit: 40)

            FileManager.default.createFile(atPath: stopFile, contents: nil)
            let child = try await attack.value
            let summary = try JSONDecoder().decode(FloodSummary.self, from: child.stdout)

            #expect(withLink.joined, "closes \(withLink.closes)")
            #expect(withLink.attempts == 1)
            #expect(withLink.seconds < 30)
            #expect(typed.joined, "closes \(typed.closes) after \(typed.seconds) s")
            #expect(typed.seconds < 30, "closes \(typed.closes)")

            // The attack was real: hundreds of attempts, nearly all refused unchecked.
            #expect(child.status == 0, "\(String(decoding: child.stderr, as: UTF8.self))")
            #expect(summary.attempts >= 200, "\(summary)")
            #expect((summary.closes["4430"] ?? 0) >= 150, "\(summary)")
            // Its checked guesses stayed within both budgets: burst plus refill while it ran.
            let failed = try await broker.store.auditEvents(since: nil, until: nil, limit: 100_000)
                .filter { $0.kind == "join.failed" && $0.detail["address"] != "127.0.0.1" }
            let budget = shared.burst + reserve.burst + (shared.perSecond + reserve.perSecond) * (summary.seconds + 1)
            #expect(Double(failed.count) <= budget, "\(failed.count) checked wrong codes, budget \(budget)")
            #expect((summary.closes["4404"] ?? 0) <= failed.count)
            // Each customer left at once, which ended its session (else the broker's shutdown does).
            if withLink.joined, typed.joined { _ = (try await linkSession.ending.value, try await typedSession.ending.value) }
        }
    }

    @Test("a wrong link key changes nothing: the code is checked as typed, and counted when wrong")
    func wrongKey() async throws {
        try await LiveBroker.run(configure: {
            $0.joinLimits.failuresBeforeBackoff = 2
            $0.joinLimits.firstBackoff = 60
        }) { broker in
            let token = try await broker.addUser("alice", role: .agent)
            let agent = try await broker.startWaitingAgent(token: token, ticket: "HD-L3")
            let key = try #require(JoinLink.key(fromLink: agent.created.joinURL))
            let other = String(key.reversed())
            let value = String((Int(JoinCodeFormat.normalize(agent.created.joinCode)!)! + 7) % 1_000_000_000_000)
            let wrongCode = JoinCodeFormat.grouped(String(repeating: "0", count: 12 - value.count) + value)
            // The right key with a wrong code, then a wrong code twice: the network must wait.
            #expect(try await joinPatiently(broker, .customer(code: wrongCode, key: key), limit: 1).closes == [4404])
            #expect(try await joinPatiently(broker, .customer(code: wrongCode, key: other), limit: 1).closes == [4404])
            #expect(try await joinPatiently(broker, .customer(code: agent.created.joinCode, key: other), limit: 1).closes == [4430])
            // The link itself is not held up by the wait (and, as any join, clears the network's failures).
            let joined = try await joinPatiently(broker, .customer(code: agent.created.joinCode, key: key), limit: 1)
            #expect(joined.joined)
            // A used link is an ordinary failed join, on that session's timeline.
            #expect(try await joinPatiently(broker, .customer(code: agent.created.joinCode, key: key), limit: 1).closes == [4409])
            let failed = try await broker.store.events(sessionID: agent.created.sessionID).filter { $0.kind == "join.failed" }
            #expect(failed.map { $0.detail["closeCode"] } == ["4409"])
            // Neither the key nor the code is anywhere in the log.
            let all = try await broker.store.auditEvents(since: nil, until: nil, limit: 1000)
            let secrets = [key, JoinCodeFormat.normalize(agent.created.joinCode)!]
            #expect(!all.contains { event in event.detail.values.contains { value in secrets.contains { value.contains($0) } } })
            if joined.joined { _ = try await agent.ending.value }
        }
    }
}
