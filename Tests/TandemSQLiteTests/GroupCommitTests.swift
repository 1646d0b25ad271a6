import Foundation
import GRDB
import Logging
import Synchronization
import TandemCore
import TandemProtocol
import Testing

@testable import TandemSQLite

/// Group commit on a real SQLite file: concurrent events share commits, each caller is
/// resumed only after its write is on disk, and one failing write does not take others down.
@Suite("Group commit: concurrent writes share one transaction, and fail alone")
struct GroupCommitTests {
    let path = NSTemporaryDirectory() + "tandem-group-\(UUID().uuidString).sqlite"

    /// The store; `onWrite` hears each committed batch, `onFailure` each write that failed.
    func open(onWrite: (@Sendable (Duration) -> Void)? = nil, onFailure: (@Sendable () -> Void)? = nil) throws -> SQLiteStore {
        try SQLiteStore(path: path, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }) { duration, result in
            switch result {
            case .committed: onWrite?(duration)
            case .failed: onFailure?()
            }
        }
    }

    @Test("200 concurrent events are all committed, in fewer transactions than events, and the chain verifies")
    func concurrentEvents() async throws {
        let commits = Counter()
        let store = try open(onWrite: { _ in commits.increment() })
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask {
                    try await store.recordEvent(sessionID: nil, kind: .userAdded, actor: nil, detail: ["n": "\(index)"], at: Date())
                }
            }
            try await group.waitForAll()
        }
        // Read back through a separate connection: what returned is on disk.
        let count = try await DatabaseQueue(path: path).read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_events")! }
        #expect(count == 200)
        #expect(commits.value < 200)
        let verification = try await store.verifyAuditLog(publicKey: AuditSigner().publicKey)
        #expect(verification.status == .intact)
        #expect(verification.count == 200)
    }

    @Test("a write that throws is rolled back alone and reported as failed; the writes batched with it commit")
    func failureIsolated() async throws {
        let failures = Counter()
        let store = try open(onFailure: { failures.increment() })
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<50 {
                group.addTask {
                    do {
                        try await store.write { db in
                            try db.execute(sql: "CREATE TABLE IF NOT EXISTS probe (n INTEGER PRIMARY KEY)")
                            try db.execute(sql: "INSERT INTO probe (n) VALUES (?)", arguments: [index])
                            // Every fifth write fails after its insert: the insert must vanish.
                            if index % 5 == 0 { throw DatabaseError(resultCode: .SQLITE_ABORT, message: "probe") }
                        }
                        return true
                    } catch {
                        return false
                    }
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.filter { $0 }.count == 40)
        // What `tandem_audit_write_errors_total` counts: each failed write once, none of the others.
        #expect(failures.value == 10)
        let rows = try await DatabaseQueue(path: path).read { db in try Int.fetchAll(db, sql: "SELECT n FROM probe ORDER BY n") }
        #expect(rows == (0..<50).filter { $0 % 5 != 0 })
    }

    @Test("a refusal (a duplicate user name) is not reported as a failed write")
    func refusalIsNotAFailure() async throws {
        let failures = Counter()
        let store = try open(onFailure: { failures.increment() })
        let user = UserRecord(name: "alice", role: .agent, tokenHash: "hash-1", createdAt: Date())
        _ = try await store.addUser(user)
        await #expect(throws: StoreError.duplicateName) {
            try await store.addUser(UserRecord(name: "alice", role: .agent, tokenHash: "hash-2", createdAt: Date()))
        }
        #expect(failures.value == 0)
        #expect(try await store.users().map(\.name) == ["alice"])
    }
}

/// A thread-safe counter for the commit hook.
final class Counter: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
