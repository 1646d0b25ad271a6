import Foundation
import Logging
import NIOCore
import TandemClient
import TandemCore
import TandemProtocol
import Testing

@Suite("Live TLS broker: auditors' statistics, export, checkpoints and pruning", .timeLimit(.minutes(2)))
struct AuditReviewTests {
    let logger = Logger(label: "tandem.test.client")

    /// A session of `ticket` by `token`'s agent; a customer joins unless `answered` is false;
    /// the agent ends it through the API with `outcome`.
    func session(_ broker: LiveBroker, token: String, ticket: String, outcome: SessionOutcome, answered: Bool = true) async throws -> String {
        let agent = try await broker.startWaitingAgent(token: token, ticket: ticket)
        let customer = Task {
            guard answered else { return }
            _ = try await TandemConnection.run(
                configuration: broker.clientConfiguration,
                hello: .customer(code: agent.created.joinCode),
                logger: logger
            ) { inbound, _ in
                var events = inbound.makeAsyncIterator()
                _ = try await events.untilEnded()
            }
        }
        if answered {
            // Wait until the join is logged.
            while try await broker.store.session(id: agent.created.sessionID)?.customerJoinedAt == nil {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        let api = try TandemAPIClient(configuration: broker.clientConfiguration, token: token)
        _ = try await api.endSession(id: agent.created.sessionID, outcome: outcome, note: "note, with \"quotes\"\nand a line")
        try await api.shutdown()
        try await customer.value
        _ = try await agent.ending.value
        return agent.created.sessionID
    }

    @Test("stats, export as CSV and JSON lines, per role")
    func statsAndExport() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let bob = try await broker.addUser("bob", role: .agent)
            let audrey = try await broker.addUser("audrey", role: .auditor)
            _ = try await session(broker, token: alice, ticket: "HD-1", outcome: .resolved)
            _ = try await session(broker, token: alice, ticket: "HD-2", outcome: .escalated)
            _ = try await session(broker, token: bob, ticket: "HD-2", outcome: .resolved)
            _ = try await session(broker, token: bob, ticket: "HD-3", outcome: .unresolved, answered: false)

            let auditor = try TandemAPIClient(configuration: broker.clientConfiguration, token: audrey)
            let stats = try await auditor.stats(AuditQuery(since: "2000-01-01"))
            #expect(stats.sessions == 4)
            #expect(stats.tickets == 3)
            #expect(stats.answered == 3)
            #expect(stats.unanswered == 1)
            // Only HD-1 was resolved by its one session.
            #expect(stats.firstContactResolutionRate == 1.0 / 3.0)
            #expect(stats.escalationRate == 0.25)
            #expect(stats.outcomes == ["resolved": 2, "escalated": 1, "unresolved": 1])
            #expect(stats.endReasons == ["ended-via-api": 4])
            #expect(stats.medianWaitSeconds != nil)
            #expect(stats.medianHandleSeconds != nil)
            #expect(try await auditor.stats(AuditQuery(until: "2000-01-01")).sessions == 0)

            let csv = String(buffer: try await auditor.export(what: "sessions", format: "csv", query: AuditQuery()))
            let lines = csv.components(separatedBy: "\r\n")
            #expect(lines.first?.hasPrefix("id,ticket,agent,mode,created_at,") == true)
            // Header, four sessions (each note quoted, with its line break inside), and the final empty line.
            #expect(csv.components(separatedBy: "\"note, with \"\"quotes\"\"\nand a line\"").count == 5)
            #expect(lines.count == 6)
            let jsonl = String(buffer: try await auditor.export(what: "sessions", format: "jsonl", query: AuditQuery(ticket: "HD-2")))
            let records = try jsonl.split(separator: "\n").map { try TandemJSON.makeDecoder().decode(SessionRecord.self, from: Data($0.utf8)) }
            #expect(records.map(\.agent) == ["alice", "bob"])
            let events = String(buffer: try await auditor.export(what: "events", format: "jsonl", query: AuditQuery()))
            let decoded = try events.split(separator: "\n").map { try TandemJSON.makeDecoder().decode(AuditEvent.self, from: Data($0.utf8)) }
            #expect(decoded.map(\.seq) == Array(1...Int64(decoded.count)))
            #expect(AuditChain.verify(decoded).status == .intact)
            try await auditor.shutdown()

            // Agents: their own sessions only, never the raw event log.
            let agent = try TandemAPIClient(configuration: broker.clientConfiguration, token: alice)
            let own = try await agent.stats(AuditQuery())
            #expect(own.sessions == 2)
            #expect(own.firstContactResolutionRate == 0.5)
            let ownCSV = String(buffer: try await agent.export(what: "sessions", format: "csv", query: AuditQuery()))
            #expect(!ownCSV.contains(",bob,"))
            await #expect(throws: TandemAPIClient.Failure.self) { _ = try await agent.export(what: "events", format: "csv", query: AuditQuery()) }
            await #expect(throws: TandemAPIClient.Failure.self) { _ = try await agent.stats(AuditQuery(agent: "bob")) }
            await #expect(throws: TandemAPIClient.Failure.self) { _ = try await agent.export(what: "sessions", format: "xml", query: AuditQuery()) }
            try await agent.shutdown()
        }
    }

    @Test("checkpoints are signed with the broker's key; prune is for admins, logged, and keeps the log verifiable")
    func checkpointsAndPrune() async throws {
        try await LiveBroker.run(configure: { $0.checkpointInterval = .milliseconds(100) }) { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let audrey = try await broker.addUser("audrey", role: .auditor)
            let root = try await broker.addUser("root", role: .admin)
            let first = try await session(broker, token: alice, ticket: "HD-P", outcome: .resolved)

            let auditor = try TandemAPIClient(configuration: broker.clientConfiguration, token: audrey)
            var list = try await auditor.checkpoints()
            while list.checkpoints.last?.seq ?? 0 < 6 {
                try await Task.sleep(for: .milliseconds(50))
                list = try await auditor.checkpoints()
            }
            let key = try await auditor.auditPublicKey()
            #expect(list.publicKey == key)
            #expect(key.pem == (try String(contentsOfFile: broker.directory + "/audit-signing.pub.pem", encoding: .utf8)))
            #expect(list.checkpoints.allSatisfy { AuditSigner.isValid($0, publicKey: key.raw) })
            let verified = try await auditor.verifyAuditLog()
            #expect(verified.status == .intact)
            #expect(verified.checkpoints >= 1)
            #expect(verified.publicKeyFingerprint == key.fingerprint)

            await #expect(throws: TandemAPIClient.Failure.self) { _ = try await auditor.prune(before: Date()) }
            let agent = try TandemAPIClient(configuration: broker.clientConfiguration, token: alice)
            await #expect(throws: TandemAPIClient.Failure.self) { _ = try await agent.prune(before: Date()) }
            try await agent.shutdown()

            let admin = try TandemAPIClient(configuration: broker.clientConfiguration, token: root)
            await #expect(throws: TandemAPIClient.Failure.self) { _ = try await admin.prune(before: Date().addingTimeInterval(3600)) }
            // The API takes whole seconds: cut at the next one and start the second session after it.
            let cut = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 0.001).rounded(.up))
            try await Task.sleep(for: .seconds(cut.timeIntervalSinceNow + 0.02))
            let second = try await session(broker, token: alice, ticket: "HD-P", outcome: .unresolved)
            let before = try await broker.store.auditEvents(since: nil, until: cut, limit: 1000)
            let pruned = try await admin.prune(before: cut)
            // At least the 3 users added and the first session's created, joined, ended.
            #expect(pruned.removedEvents == Int64(before.count))
            #expect(pruned.removedEvents >= 6)
            #expect(pruned.prunedThroughSeq == before.last?.seq)
            #expect(pruned.checkpoint?.actor == "root")
            try await admin.shutdown()

            let after = try await auditor.verifyAuditLog()
            #expect(after.status == .intact)
            #expect(after.prunedThroughSeq == pruned.prunedThroughSeq)
            #expect(try await auditor.timeline(sessionID: first).events.isEmpty)
            #expect(try await auditor.timeline(sessionID: second).events.map(\.kind) == ["session.created", "customer.joined", "session.ended"])
            let log = try await broker.store.auditEvents(since: nil, until: nil, limit: 1000)
            #expect(log.last?.kind == "audit.pruned")
            #expect(log.last?.actor == "root")
            try await auditor.shutdown()
        }
    }
}
