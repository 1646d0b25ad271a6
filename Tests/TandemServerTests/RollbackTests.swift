import Foundation
import Logging
import NIOConcurrencyHelpers
import TandemClient
import TandemCore
import TandemProtocol
import TandemSQLite
import TandemServer
import Testing

/// The log survives operator mistakes (protocol/README.md §11.7): a deleted `-wal` file and
/// a database replaced by an older copy, on real broker processes and real files.
@Suite("Audit log rolled back: lost WAL, older database copy", .timeLimit(.minutes(3)))
struct RollbackTests {
    let logger = Logger(label: "tandem.test.rollback")

    static func temporaryDirectory() throws -> String {
        let directory = NSTemporaryDirectory() + "tandem-rollback-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Adds an agent and an auditor through a store that is closed again before any broker
    /// runs, so nothing of this process holds the database. Returns their tokens.
    static func addUsers(_ directory: String) async throws -> (agent: String, auditor: String) {
        let store = try SQLiteStore(path: directory + "/tandem.sqlite", logger: Logger(label: "tandem.test.setup"))
        let agent = APIToken.generate()
        let auditor = APIToken.generate()
        _ = try await store.addUser(UserRecord(name: "alice", role: .agent, tokenHash: APIToken.hash(agent), createdAt: Date()))
        _ = try await store.addUser(UserRecord(name: "audrey", role: .auditor, tokenHash: APIToken.hash(auditor), createdAt: Date()))
        return (agent, auditor)
    }

    /// Runs one whole session through the broker; returns its id.
    func oneSession(_ configuration: TandemClientConfiguration, token: String) async throws -> String {
        let sessionID = NIOLockedValueBox<String?>(nil)
        try await CrashLoopTests.oneSession(configuration, token: token, logger: logger) { ack in
            sessionID.withLockedValue { $0 = $0 ?? ack.sessionID }
        }
        return try #require(sessionID.withLockedValue { $0 })
    }

    /// Waits until a signed checkpoint covers the whole log and is kept in
    /// `audit-head.json`; returns the kept checkpoint.
    static func waitForKeptHead(_ configuration: TandemClientConfiguration, auditor: String, directory: String) async throws -> AuditCheckpoint {
        let api = try TandemAPIClient(configuration: configuration, token: auditor)
        for _ in 0..<300 {
            let report = try await api.verifyAuditLog()
            if report.status == .intact, report.unsignedEvents == 0, let kept = try AuditHeadFile(directory: directory).load(),
                kept.seq > 0, kept.seq == report.lastCheckpointSeq, report.signedHeadSeq == kept.seq
            {
                try await api.shutdown()
                return kept
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        try? await api.shutdown()
        throw TestFailure("no signed checkpoint covering the whole log was kept in audit-head.json")
    }

    /// The newest event of the database at `path` (opened, read and closed again).
    static func headSeq(of path: String) async throws -> Int64 {
        let store = try SQLiteStore(path: path, logger: Logger(label: "tandem.test.setup"))
        return try await store.auditSnapshot().events.last?.seq ?? 0
    }

    static func verify(_ configuration: TandemClientConfiguration, auditor: String) async throws -> AuditVerification {
        let api = try TandemAPIClient(configuration: configuration, token: auditor)
        do {
            let report = try await api.verifyAuditLog()
            try await api.shutdown()
            return report
        } catch {
            try? await api.shutdown()
            throw error
        }
    }

    @Test("kill -9 after a signed checkpoint, then the -wal file deleted: nothing signed is lost, the broker starts and the log verifies")
    func deletedWAL() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tokens = try await Self.addUsers(directory)
        let broker = try await BrokerProcess.start(directory: directory, arguments: ["--checkpoint-interval", "1"])
        defer { if broker.process.isRunning { broker.signal(SIGKILL) } }
        let sessionID = try await oneSession(broker.clientConfiguration, token: tokens.agent)
        let kept = try await Self.waitForKeptHead(broker.clientConfiguration, auditor: tokens.auditor, directory: directory)
        // One more tick without readers: the WAL is copied into the database whatever a
        // reader held back.
        try await Task.sleep(for: .milliseconds(2500))
        await broker.kill9()

        // The operator "cleans up" after the crash.
        let wal = directory + "/tandem.sqlite-wal"
        #expect(FileManager.default.fileExists(atPath: wal), "a killed broker leaves its WAL behind")
        try? FileManager.default.removeItem(atPath: wal)
        try? FileManager.default.removeItem(atPath: directory + "/tandem.sqlite-shm")

        let restarted = try await BrokerProcess.start(directory: directory)
        defer { restarted.signal(SIGTERM) }
        let report = try await Self.verify(restarted.clientConfiguration, auditor: tokens.auditor)
        #expect(report.status == .intact, "\(report.message ?? "")")
        // Everything that was signed is there (today's code loses the WAL's events and still says intact).
        #expect(report.count >= kept.seq)
        #expect(report.signedHeadSeq == kept.seq)
        let api = try TandemAPIClient(configuration: restarted.clientConfiguration, token: tokens.auditor)
        let timeline = try await api.timeline(sessionID: sessionID)
        try await api.shutdown()
        #expect(timeline.events.map(\.kind).contains("session.ended"))
        #expect(timeline.session.endReason != .brokerCrash)
    }

    @Test(
        "the database replaced by an older copy: the broker refuses to start naming both numbers; --accept-rolled-back-log starts it and logs the loss"
    )
    func olderCopy() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = directory + "/tandem.sqlite"
        let tokens = try await Self.addUsers(directory)

        // First life: a session, a graceful stop (shutdown checkpoint). The operator's backup.
        let first = try await BrokerProcess.start(directory: directory)
        defer { if first.process.isRunning { first.signal(SIGTERM) } }
        _ = try await oneSession(first.clientConfiguration, token: tokens.agent)
        await first.terminate()
        for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: database + suffix) {
            try FileManager.default.copyItem(atPath: database + suffix, toPath: directory + "/backup.sqlite" + suffix)
        }
        let backupHead = try await Self.headSeq(of: directory + "/backup.sqlite")
        #expect(backupHead > 0)

        // Second life: more sessions, signed at shutdown.
        let second = try await BrokerProcess.start(directory: directory)
        defer { if second.process.isRunning { second.signal(SIGTERM) } }
        _ = try await oneSession(second.clientConfiguration, token: tokens.agent)
        await second.terminate()
        let signed = try #require(try AuditHeadFile(directory: directory).load())
        #expect(signed.seq > backupHead)

        // The operator restores the backup over the live database.
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
        for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: directory + "/backup.sqlite" + suffix) {
            try FileManager.default.moveItem(atPath: directory + "/backup.sqlite" + suffix, toPath: database + suffix)
        }

        // Refused, with both numbers, and nothing written.
        let refused = try CLIProcess.start(["serve", "--data-dir", directory, "--port", "0", "--log-level", "critical"], token: "", in: directory)
        let status = try await refused.waitForExit(seconds: 30)
        #expect(status != 0)
        let said = refused.text
        #expect(!said.contains("listening on"), "\(said)")
        #expect(said.contains("ends at event #\(backupHead),"), "\(said)")
        #expect(said.contains("up to event #\(signed.seq) ("), "\(said)")
        #expect(said.contains("--accept-rolled-back-log"), "\(said)")

        // The operator means it: the broker starts, records the loss and signs a new head.
        let accepted = try await BrokerProcess.start(directory: directory, arguments: ["--accept-rolled-back-log"])
        defer { if accepted.process.isRunning { accepted.signal(SIGTERM) } }
        let report = try await Self.verify(accepted.clientConfiguration, auditor: tokens.auditor)
        #expect(report.status == .intact, "\(report.message ?? "")")
        await accepted.terminate()
        let store = try SQLiteStore(path: database, logger: logger)
        let events = try await store.auditEvents(afterSeq: 0, limit: Int.max)
        let loss = try #require(events.first { $0.kind == "audit.rollback-accepted" })
        // Appended right after the restored head: the refused start wrote nothing.
        #expect(loss.seq == backupHead + 1)
        #expect(loss.detail["finding"] == "behind")
        #expect(loss.detail["signedSeq"] == String(signed.seq))
        #expect(loss.detail["signedHash"] == signed.headHash)
        #expect(loss.detail["headSeq"] == String(backupHead))
        let newHead = try #require(try AuditHeadFile(directory: directory).load())
        #expect(newHead.seq >= loss.seq)

        // From now on it starts without the flag.
        let again = try await BrokerProcess.start(directory: directory)
        await again.terminate()
    }

    @Test("events and checkpoints removed behind a running broker: audit verify says rolled-back with both numbers; tandem audit verify exits 1")
    func verifyReportsRollback() async throws {
        try await LiveBroker.run(configure: { $0.checkpointInterval = .milliseconds(200) }) { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let audrey = try await broker.addUser("audrey", role: .auditor)
            _ = try await oneSession(broker.clientConfiguration, token: alice)
            let kept = try await Self.waitForKeptHead(broker.clientConfiguration, auditor: audrey, directory: broker.directory)
            #expect(kept.seq > 3)

            // A partial restore by another tool: the log is cut back to event #3, with its checkpoints.
            let script = """
                import sqlite3, sys
                db = sqlite3.connect(sys.argv[1], timeout=10)
                db.execute("DELETE FROM audit_checkpoints WHERE seq > 3")
                db.execute("DELETE FROM audit_events WHERE seq > 3")
                db.commit()
                db.close()
                """
            let cut = try await ChildProcess.run(["python3", "-c", script, broker.directory + "/tandem.sqlite"])
            #expect(cut.status == 0, "\(String(decoding: cut.stderr, as: UTF8.self))")

            let report = try await Self.verify(broker.clientConfiguration, auditor: audrey)
            #expect(report.status == .rolledBack)
            #expect(report.signedHeadSeq == kept.seq)
            #expect(report.headSeq == 3)
            #expect(report.firstBadSeq == 4)
            #expect(report.message?.contains("ends at event #3,") == true)
            #expect(report.message?.contains("up to event #\(kept.seq) (") == true)

            let cli = try CLIProcess.start(
                ["audit", "verify", "--server", "https://127.0.0.1:\(broker.port)", "--ca", broker.caFile],
                token: audrey,
                in: broker.directory
            )
            #expect(try await cli.waitForExit(seconds: 30) == 1)
            #expect(cli.text.contains("rolled-back"), "\(cli.text)")
            #expect(cli.text.contains("#\(kept.seq)"), "\(cli.text)")
        }
    }
}
