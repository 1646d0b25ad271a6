import Foundation
import Logging
import TandemClient
import TandemCore
import TandemProtocol
import Testing

/// A failed join with a session's own code (used: 4409, expired: 4410) is on that session's
/// timeline (protocol/README.md §11), without the code.
@Suite("Live TLS broker: failed joins with a session's code are on its timeline", .timeLimit(.minutes(2)))
struct JoinTimelineTests {
    let logger = Logger(label: "tandem.test.client")

    /// Joins with `code`; a customer that gets in leaves at once. Returns the close code.
    func join(_ broker: LiveBroker, code: String) async throws -> (close: UInt16?, joined: Bool) {
        let run = try await TandemConnection.run(configuration: broker.clientConfiguration, hello: .customer(code: code), logger: logger) {
            inbound,
            outbound in
            var joined = false
            for try await event in inbound {
                if case .control(.sessionJoined) = event {
                    joined = true
                    try await outbound.send(.sessionEnd(SessionEnd()))
                }
            }
            return joined
        }
        return (run.closure.code, run.result ?? false)
    }

    @Test("joining twice with one code, and after the code expired: join.failed 4409 and 4410 on the sessions' timelines")
    func usedAndExpired() async throws {
        try await LiveBroker.run { broker in
            let token = try await broker.addUser("alice", role: .agent)
            let used = try await broker.startWaitingAgent(token: token, ticket: "HD-T1")
            let first = try await join(broker, code: used.created.joinCode)
            #expect(first.joined)
            _ = try await used.ending.value
            let second = try await join(broker, code: used.created.joinCode)
            #expect(second.close == 4409)
            #expect(!second.joined)

            let expiring = try await broker.startWaitingAgent(token: token, ticket: "HD-T2", ttlSeconds: 1)
            // The sweeper ends the session when its code expires; the code is remembered as dead.
            _ = try await expiring.ending.value
            let late = try await join(broker, code: expiring.created.joinCode)
            #expect(late.close == 4410)

            let usedTimeline = try await broker.store.events(sessionID: used.created.sessionID)
            let usedFailures = usedTimeline.filter { $0.kind == "join.failed" }
            #expect(usedFailures.map { $0.detail["closeCode"] } == ["4409"])
            #expect(usedFailures.first?.actor == "customer")
            #expect(usedFailures.first?.detail["address"] == "127.0.0.1")
            // After the join and the ending, in the order they happened.
            #expect(usedTimeline.map(\.kind).firstIndex(of: "join.failed")! > usedTimeline.map(\.kind).firstIndex(of: "customer.joined")!)

            let expiredFailures = try await broker.store.events(sessionID: expiring.created.sessionID).filter { $0.kind == "join.failed" }
            #expect(expiredFailures.map { $0.detail["closeCode"] } == ["4410"])

            // Not also logged without a session, and the codes appear nowhere in the log.
            let all = try await broker.store.auditEvents(since: nil, until: nil, limit: 1000)
            #expect(all.filter { $0.kind == "join.failed" }.count == 2)
            let codes = [used.created.joinCode, expiring.created.joinCode].map { JoinCodeFormat.normalize($0)! }
            #expect(!all.contains { event in event.detail.values.contains { value in codes.contains { value.contains($0) } } })
        }
    }
}
