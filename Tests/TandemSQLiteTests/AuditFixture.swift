import Foundation
import Logging
import TandemCore
import TandemProtocol
import TandemSQLite

/// The realistic log the audit tests tamper with: a user, three sessions of three events
/// (created, joined, ended), a failed join — eleven events — in a fresh SQLite file.
enum AuditFixture {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    /// Creates the file and the log; `afterFirstSession` runs after event 4.
    static func make(
        _ name: String,
        afterFirstSession: (SQLiteStore) async throws -> Void = { _ in }
    ) async throws -> (path: String, store: SQLiteStore) {
        let directory = NSTemporaryDirectory() + "tandem-\(name)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/tandem.sqlite"
        let store = try SQLiteStore(path: path, logger: Logger(label: "test"))
        _ = try await store.addUser(UserRecord(name: "alice", role: .agent, tokenHash: "h", createdAt: t0))
        for index in 0..<3 {
            let id = "s_\(index)"
            let created = t0.addingTimeInterval(Double(index) * 100)
            try await store.insertSession(
                SessionRecord(
                    id: id,
                    ticket: "HD-\(index)",
                    agent: "alice",
                    mode: .camera,
                    createdAt: created,
                    expiresAt: created.addingTimeInterval(600)
                )
            )
            try await store.recordCustomerJoined(sessionID: id, at: created.addingTimeInterval(10), client: "c", address: "198.51.100.4")
            try await store.recordEnding(
                sessionID: id,
                ending: SessionEnding(
                    endedAt: created.addingTimeInterval(60),
                    reason: .agentEnded,
                    outcome: .resolved,
                    note: "n\(index)",
                    traffic: .init()
                )
            )
            if index == 0 { try await afterFirstSession(store) }
        }
        try await store.recordEvent(
            sessionID: nil,
            kind: "join.failed",
            actor: "customer",
            detail: ["closeCode": "4404"],
            at: t0.addingTimeInterval(400)
        )
        return (path, store)
    }
}
