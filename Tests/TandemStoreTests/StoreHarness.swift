import Foundation
import Logging
import Synchronization
import TandemCore
import TandemPostgres
import TandemSQLite
import Testing

/// The stores the suite runs against. PostgreSQL needs `TANDEM_TEST_POSTGRES_URL`, which
/// scripts/test.sh sets after installing and starting a local server.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    static let postgresURL = ProcessInfo.processInfo.environment["TANDEM_TEST_POSTGRES_URL"]
    static var available: [StoreKind] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    var testDescription: String { rawValue }
}

/// One fresh database for a test: a new SQLite file, or a new PostgreSQL schema. `open()`
/// opens another store on the same database (a restarted or a second broker).
final class StoreHarness: Sendable {
    let kind: StoreKind
    private let location: String
    private let running = Mutex<[Task<Void, any Error>]>([])

    init(_ kind: StoreKind) throws {
        self.kind = kind
        switch kind {
        case .sqlite:
            let directory = NSTemporaryDirectory() + "tandem-store-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            location = directory + "/tandem.sqlite"
        case .postgres:
            location = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        }
    }

    func open() throws -> any TandemStore {
        switch kind {
        case .sqlite:
            return try SQLiteStore(path: location, logger: Logger(label: "test"))
        case .postgres:
            let store = try PostgresStore(url: StoreKind.postgresURL ?? "", schema: location, logger: Logger(label: "test"))
            running.withLock { $0.append(Task { try await store.run() }) }
            return store
        }
    }

    /// Stops the connection pools of the PostgreSQL stores.
    func close() async {
        let tasks = running.withLock { tasks in
            defer { tasks = [] }
            return tasks
        }
        for task in tasks {
            task.cancel()
            _ = try? await task.value
        }
    }

    /// Runs `body` with a store on a fresh database.
    static func with<T: Sendable>(_ kind: StoreKind, _ body: (any TandemStore, StoreHarness) async throws -> T) async throws -> T {
        let harness = try StoreHarness(kind)
        do {
            let result = try await body(try harness.open(), harness)
            await harness.close()
            return result
        } catch {
            await harness.close()
            throw error
        }
    }
}
