import Logging
import NIOConcurrencyHelpers
import PostgresNIO
import ServiceLifecycle
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The scale-out store: the same log as ``SQLiteStore`` in PostgreSQL, shared by several
/// brokers. Every write is one transaction that returns after `COMMIT`; appends to the
/// audit chain take a transaction-scoped advisory lock, so brokers extend one chain in
/// turn. Times are stored as epoch milliseconds, as in SQLite.
///
/// The store is a `Service`: run it (its connection pool) in the same `ServiceGroup` as
/// the broker, before it. The schema is created or migrated by the first call.
public final class PostgresStore: TandemStore, BrokerRegistry, Service {
    let client: PostgresClient
    /// This broker's id: its sessions are recorded as its own, and only those are closed as
    /// `broker-crash` when it starts again.
    public let brokerID: String
    let logger: Logger
    let schema: String?
    let onWrite: (@Sendable (Duration, StoreWriteResult) -> Void)?
    private let migration = NIOLockedValueBox<Task<Void, any Error>?>(nil)

    /// Advisory lock key serialising appends to the audit chain (any fixed number).
    static let chainLock: Int64 = 0x7461_6E64_656D

    /// - Parameters:
    ///   - url: `postgres://user:password@host:port/database` (`?sslmode=disable|prefer|require`).
    ///   - schema: a schema to keep the tables in (created if missing); nil uses the URL's
    ///     `schema=` parameter, else `public`.
    ///   - brokerID: this broker's stable id (see ``BrokerRegistry``).
    public init(
        url: String,
        schema: String? = nil,
        brokerID: String = "broker",
        logger: Logger,
        onWrite: (@Sendable (Duration, StoreWriteResult) -> Void)? = nil
    ) throws {
        var (configuration, urlSchema) = try PostgresURL.configuration(url)
        let schema = schema ?? urlSchema
        if let schema {
            guard schema.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), !schema.isEmpty else {
                throw StoreError.invalidConfiguration("schema names are letters, digits and _")
            }
            configuration.options.additionalStartupParameters.append(("search_path", schema))
        }
        // At most as verbose as debug: at trace the driver prints protocol messages (queries
        // with their values, result rows: customers' addresses, notes, code hashes).
        var logger = logger
        if logger.logLevel < .debug { logger.logLevel = .debug }
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
        self.schema = schema
        self.onWrite = onWrite
        self.brokerID = brokerID
    }

    /// Runs the connection pool until graceful shutdown.
    public func run() async throws {
        await client.run()
    }

    /// A write transaction, timed; `chain` takes the audit-chain lock first. A write that
    /// fails other than with a ``StoreError`` refusal is reported to `onWrite` as failed.
    func write<T: Sendable>(chain: Bool = true, _ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        var start = ContinuousClock.now
        let result: T
        do {
            try await migrated()
            start = ContinuousClock.now
            do {
                result = try await client.withTransaction(logger: logger) { connection in
                    if chain { try await Self.lockChain(connection, logger: logger) }
                    return try await body(connection)
                }
            } catch let error as PostgresTransactionError {
                // The body's own error (rolled back) is the one callers can act on.
                throw error.closureError ?? error
            }
        } catch let refusal as StoreError {
            throw refusal
        } catch {
            onWrite?(ContinuousClock.now - start, .failed)
            throw error
        }
        onWrite?(ContinuousClock.now - start, .committed)
        return result
    }

    /// Takes the audit-chain lock until the transaction ends.
    static func lockChain(_ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(\(chainLock))", logger: logger)
    }

    /// A read in one transaction (a consistent snapshot with `REPEATABLE READ`).
    func read<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await migrated()
        return try await client.withConnection { connection in
            try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            do {
                let result = try await body(connection)
                try await connection.query("COMMIT", logger: logger)
                return result
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    /// Creates or migrates the schema once per process.
    func migrated() async throws {
        let task = migration.withLockedValue { task in
            if let task { return task }
            let made = Task { try await self.migrate() }
            task = made
            return made
        }
        do {
            try await task.value
        } catch {
            // Let the next call try again (the database may come up later).
            migration.withLockedValue { $0 = nil }
            throw error
        }
    }

    public func addUser(_ user: UserRecord) async throws -> UserRecord {
        try await write { connection in
            do {
                let rows = try await connection.query(
                    """
                    INSERT INTO users (name, role, token_hash, created_ms) VALUES (\(user.name), \(user.role.rawValue), \(user.tokenHash), \(user.createdAt.epochMilliseconds))
                    RETURNING id
                    """,
                    logger: logger
                )
                var stored = user
                for try await id in rows.decode(Int64.self) { stored.id = id }
                try await Self.appendEvent(
                    connection,
                    logger: logger,
                    at: user.createdAt,
                    sessionID: nil,
                    kind: .userAdded,
                    actor: nil,
                    detail: ["user": user.name, "role": user.role.rawValue]
                )
                return stored
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
                // A refusal, not a failed write: the transaction is rolled back all the same.
                throw StoreError.duplicateName
            }
        }
    }

    public func user(tokenHash: String) async throws -> UserRecord? {
        try await read { connection in
            try await Self.users(connection, logger: logger, "SELECT \(unescaped: Self.userColumns) FROM users WHERE token_hash = \(tokenHash)").first
        }
    }

    public func user(name: String) async throws -> UserRecord? {
        try await read { connection in
            try await Self.users(connection, logger: logger, "SELECT \(unescaped: Self.userColumns) FROM users WHERE name = \(name)").first
        }
    }

    public func users() async throws -> [UserRecord] {
        try await read { connection in
            try await Self.users(connection, logger: logger, "SELECT \(unescaped: Self.userColumns) FROM users ORDER BY name")
        }
    }

    public func revokeUser(name: String, at: Date) async throws -> Bool {
        try await write { connection in
            let changed = try await Self.count(
                connection,
                logger: logger,
                "UPDATE users SET revoked_ms = \(at.epochMilliseconds) WHERE name = \(name) AND revoked_ms IS NULL RETURNING 1"
            )
            guard changed > 0 else { return false }
            try await Self.appendEvent(connection, logger: logger, at: at, sessionID: nil, kind: .userRevoked, actor: nil, detail: ["user": name])
            return true
        }
    }

    public func insertSession(_ session: SessionRecord) async throws {
        try await write { connection in
            try await connection.query(
                """
                INSERT INTO sessions (id, ticket, agent, mode, created_ms, expires_ms, broker_id)
                VALUES (\(session.id), \(session.ticket), \(session.agent), \(session.mode.rawValue), \(session.createdAt.epochMilliseconds), \(session.expiresAt.epochMilliseconds), \(brokerID))
                """,
                logger: logger
            )
            try await Self.appendEvent(
                connection,
                logger: logger,
                at: session.createdAt,
                sessionID: session.id,
                kind: .sessionCreated,
                actor: session.agent,
                detail: session.creationDetail
            )
        }
    }

    public func recordCustomerJoined(sessionID: String, at: Date, client: String?, address: String?) async throws {
        try await write { connection in
            let changed = try await Self.count(
                connection,
                logger: logger,
                """
                UPDATE sessions SET customer_joined_ms = \(at.epochMilliseconds), customer_client = \(client), customer_address = \(address),
                    last_activity_ms = \(at.epochMilliseconds)
                WHERE id = \(sessionID) AND customer_joined_ms IS NULL RETURNING 1
                """
            )
            if changed == 0 { throw StoreError.notFound }
            var detail: [String: String] = [:]
            if let client { detail["client"] = client }
            if let address { detail["address"] = address }
            try await Self.appendEvent(
                connection,
                logger: logger,
                at: at,
                sessionID: sessionID,
                kind: .customerJoined,
                actor: "customer",
                detail: detail
            )
        }
    }

    public func recordTakeover(sessionID: String, agent: String, detail: [String: String], at: Date) async throws {
        try await write { connection in
            let changed = try await Self.count(
                connection,
                logger: logger,
                "UPDATE sessions SET agent = \(agent) WHERE id = \(sessionID) AND ended_ms IS NULL RETURNING 1"
            )
            if changed == 0 { throw StoreError.notFound }
            try await Self.appendEvent(
                connection,
                logger: logger,
                at: at,
                sessionID: sessionID,
                kind: .transferAnswered,
                actor: agent,
                detail: detail
            )
        }
    }

    public func recordLateOutcome(sessionID: String, outcome: SessionOutcome, note: String?) async throws -> Bool {
        try await write { connection in
            let changed = try await Self.count(
                connection,
                logger: logger,
                """
                UPDATE sessions SET outcome = \(outcome.rawValue), note = COALESCE(\(note), note)
                WHERE id = \(sessionID) AND ended_ms IS NOT NULL AND outcome IS NULL RETURNING 1
                """
            )
            guard changed > 0 else { return false }
            var detail = ["outcome": outcome.rawValue]
            if let note { detail["note"] = note }
            try await Self.appendEvent(
                connection,
                logger: logger,
                at: Date(),
                sessionID: sessionID,
                kind: .outcomeRecorded,
                actor: nil,
                detail: detail
            )
            return true
        }
    }

    public func recordActivity(sessionIDs: [String], at: Date) async throws {
        guard !sessionIDs.isEmpty else { return }
        try await write(chain: false) { connection in
            try await connection.query(
                "UPDATE sessions SET last_activity_ms = \(at.epochMilliseconds) WHERE id = ANY(\(sessionIDs)) AND ended_ms IS NULL",
                logger: logger
            )
        }
    }

    /// How many rows a statement with `RETURNING 1` touched.
    static func count(_ connection: PostgresConnection, logger: Logger, _ query: PostgresQuery) async throws -> Int {
        var count = 0
        for try await _ in try await connection.query(query, logger: logger) { count += 1 }
        return count
    }
}
