import Foundation
import Logging
import TandemClient
import TandemCore
import TandemProtocol
import Testing

@Suite("Live TLS broker: audit timeline and verification", .timeLimit(.minutes(2)))
struct AuditTrailTests {
    @Test("a session's timeline lists creation, join and end; failed joins are logged without the code; the chain verifies")
    func timeline() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let audrey = try await broker.addUser("audrey", role: .auditor)
            let agent = try await broker.startWaitingAgent(token: alice, ticket: "HD-T")
            let logger = Logger(label: "tandem.test.client")
            // A wrong code first, then the right one.
            let digits = JoinCodeFormat.normalize(agent.created.joinCode)!
            let wrong = digits == "739215846012" ? "739215846013" : "739215846012"
            _ = try await TandemConnection.run(configuration: broker.clientConfiguration, hello: .customer(code: wrong), logger: logger) {
                inbound,
                _ in
                for try await _ in inbound {}
            }
            _ = try await TandemConnection.run(
                configuration: broker.clientConfiguration,
                hello: .customer(code: agent.created.joinCode, client: "t/1"),
                logger: logger
            ) { inbound, outbound in
                var events = inbound.makeAsyncIterator()
                _ = try await events.nextControl()
                try await outbound.send(.sessionEnd(SessionEnd()))
                _ = try await events.untilEnded()
            }
            _ = try await agent.ending.value

            let api = try TandemAPIClient(configuration: broker.clientConfiguration, token: audrey)
            let timeline = try await api.timeline(sessionID: agent.created.sessionID)
            #expect(timeline.events.map(\.kind) == ["session.created", "customer.joined", "session.ended"])
            #expect(timeline.events.first?.actor == "alice")
            #expect(timeline.events.first?.detail["ticket"] == "HD-T")
            #expect(timeline.events.last?.detail["reason"] == "customer-left")
            let verification = try await api.verifyAuditLog()
            #expect(verification.status == .intact)
            // 2 users added, a failed join, created, joined, ended.
            #expect(verification.count == 6)
            try await api.shutdown()

            let failed = try await broker.store.events(sessionID: agent.created.sessionID)
            #expect(!failed.contains { $0.kind == "join.failed" })
            let logFile =
                try String(contentsOfFile: broker.directory + "/tandem.sqlite", encoding: .isoLatin1)
                + ((try? String(contentsOfFile: broker.directory + "/tandem.sqlite-wal", encoding: .isoLatin1)) ?? "")
            #expect(logFile.contains("join.failed"))
            #expect(!logFile.contains(wrong))
            #expect(!logFile.contains(digits))

            let agentAPI = try TandemAPIClient(configuration: broker.clientConfiguration, token: alice)
            await #expect(throws: TandemAPIClient.Failure.self) { _ = try await agentAPI.verifyAuditLog() }
            #expect(try await agentAPI.timeline(sessionID: agent.created.sessionID).events.count == 3)
            try await agentAPI.shutdown()
        }
    }
}
