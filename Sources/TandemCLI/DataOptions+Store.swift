import Foundation
import Logging
import TandemCore
import TandemPostgres
import TandemSQLite
import TandemServer

extension DataOptions {
    /// Whether `--database` names a PostgreSQL server.
    var usesPostgres: Bool { database.map { $0.hasPrefix("postgres://") || $0.hasPrefix("postgresql://") } ?? false }

    /// Where the log is, for messages: the SQLite file, or the PostgreSQL server without
    /// user and password.
    var databaseDescription: String {
        guard usesPostgres, let database, let url = URLComponents(string: database) else { return databasePath }
        return "postgres://\(url.host ?? "?")\(url.port.map { ":\($0)" } ?? "")\(url.path)"
    }

    /// Opens the store `--database` names: the SQLite file in the data directory by
    /// default, or PostgreSQL (a `Service` the caller must run). `onWrite` hears each write's
    /// time and result (``BrokerMetrics/auditWriteTook(_:_:)``).
    func openStore(
        logger: Logger,
        brokerID: String = "cli",
        onWrite: (@Sendable (Duration, StoreWriteResult) -> Void)? = nil
    ) throws -> any TandemStore {
        if usesPostgres, let database {
            return try PostgresStore(url: database, brokerID: brokerID, logger: logger, onWrite: onWrite)
        }
        // A new data directory is the user's only (0700); an existing one is `serve`'s to tighten.
        if !FileManager.default.fileExists(atPath: dataDirectory) { try PrivateFile.makeDirectory(dataDirectory) }
        return try SQLiteStore(path: databasePath, logger: logger, onWrite: onWrite)
    }

    /// This broker's id among brokers sharing a database: made once and kept in
    /// `DATA/broker-id`, so a restarted broker recognises its own sessions.
    func stableBrokerID() throws -> String {
        let path = dataDirectory + "/broker-id"
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !id.isEmpty { return id }
        }
        try PrivateFile.makeDirectory(dataDirectory)
        let id = "b-" + SessionID.generate().dropFirst(2)
        // Not secret, but never writable by others, whatever the umask.
        try PrivateFile.write(Data((id + "\n").utf8), to: path, permissions: 0o644)
        return id
    }

    /// Runs `body` with the store, running PostgreSQL's connection pool around it.
    func withStore<T: Sendable>(logger: Logger, _ body: @Sendable (any TandemStore) async throws -> T) async throws -> T {
        let store = try openStore(logger: logger)
        guard let postgres = store as? PostgresStore else { return try await body(store) }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await postgres.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await body(store)
        }
    }
}
