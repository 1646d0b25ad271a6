import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import TandemClient
import TandemCore
import TandemProtocol
import TandemSQLite
import TandemServer

/// A real broker for a test: TLS with a freshly made development CA, 127.0.0.1 port 0,
/// a real SQLite file in a temporary directory. Stopped gracefully when the body returns.
struct LiveBroker: Sendable {
    let port: Int
    let directory: String
    let store: SQLiteStore
    let statistics: BrokerStatistics

    var caFile: String { directory + "/certs/ca.pem" }

    /// The broker's audit signing key (`DATA/audit-signing-key.pem`), for tokens, links and
    /// checkpoints a test signs as the broker would.
    func signer() throws -> AuditSigner {
        try AuditSigningKey.loadOrCreate(directory: directory, logger: Logger(label: "tandem.test")).signer
    }

    var clientConfiguration: TandemClientConfiguration {
        TandemClientConfiguration(serverURL: "https://127.0.0.1:\(port)", caFile: caFile)
    }

    static func run<T: Sendable>(
        directory: String? = nil,
        configure: @Sendable (inout BrokerConfiguration) -> Void = { _ in },
        _ body: @Sendable (LiveBroker) async throws -> T
    ) async throws -> T {
        let directory = directory ?? NSTemporaryDirectory() + "tandem-live-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var logger = Logger(label: "tandem.test.broker") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = ProcessInfo.processInfo.environment["TANDEM_TEST_LOG"] == nil ? .error : .debug
        // Wired as `tandem serve` wires them: the store reports each write to the metrics.
        let metrics = BrokerMetrics()
        let store = try SQLiteStore(path: directory + "/tandem.sqlite", logger: logger, onWrite: metrics.auditWriteTook)
        var configuration = BrokerConfiguration()
        configuration.port = 0
        configuration.dataDirectory = directory
        // The suite runs in parallel on 2 cores in a debug build: a frame can wait over the
        // default second without its receiver being slow. Tests of staleness set their own.
        configuration.limits.mediaMaxAge = .seconds(30)
        configure(&configuration)
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let statistics = BrokerStatistics(metrics: metrics)
        let broker = TandemBroker(configuration: configuration, store: store, logger: logger, statistics: statistics) { port in
            portContinuation.yield(port)
            portContinuation.finish()
        }
        let group = ServiceGroup(configuration: .init(services: [broker], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw TestFailure("broker did not start") }
            let live = LiveBroker(port: port, directory: directory, store: store, statistics: statistics)
            do {
                let result = try await body(live)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
        }
    }

    /// Adds a user directly in the store and returns its token.
    func addUser(_ name: String, role: UserRole) async throws -> String {
        let token = APIToken.generate()
        _ = try await store.addUser(UserRecord(name: name, role: role, tokenHash: APIToken.hash(token), createdAt: Date()))
        return token
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Frames with a recognisable payload.
func testFrame(stream: UInt16, sequence: UInt32, size: Int, fill: UInt8) -> MediaFrame {
    MediaFrame(
        streamID: stream,
        sequence: sequence,
        codec: .jpeg,
        keyframe: true,
        timestampMicros: UInt64(Date().timeIntervalSince1970 * 1_000_000),
        payload: ByteBuffer(repeating: fill, count: size)
    )
}

extension TandemInbound.AsyncIterator {
    /// The next control message, skipping nothing: throws if a frame or the end comes first.
    mutating func nextControl() async throws -> ControlMessage {
        guard let event = try await next() else { throw TestFailure("connection ended while a control message was expected") }
        guard case .control(let message) = event else { throw TestFailure("a frame arrived while a control message was expected") }
        return message
    }

    /// Reads until `session.ended` (returned) or the end of the connection (nil).
    mutating func untilEnded() async throws -> SessionEnded? {
        while let event = try await next() {
            if case .control(.sessionEnded(let ended)) = event { return ended }
        }
        return nil
    }
}

/// An agent that opened a session and stays attached until the session ends.
struct WaitingAgent: Sendable {
    let created: SessionCreated
    /// The `session.ended` the agent received (nil if none) and how its connection closed.
    let ending: Task<(SessionEnded?, TandemClosure), any Error>
}

extension LiveBroker {
    /// Opens a session as `token` and returns once `session.created` arrived.
    func startWaitingAgent(token: String, ticket: String, mode: SessionMode = .screen, ttlSeconds: Int? = nil) async throws -> WaitingAgent {
        let (createdStream, createdSink) = AsyncStream<SessionCreated>.makeStream()
        let configuration = clientConfiguration
        let ending = Task {
            defer { createdSink.finish() }
            let run = try await TandemConnection.run(
                configuration: configuration,
                hello: .agent(token: token, start: .init(ticket: ticket, mode: mode, ttlSeconds: ttlSeconds)),
                logger: Logger(label: "tandem.test.agent")
            ) { inbound, _ -> SessionEnded? in
                var events = inbound.makeAsyncIterator()
                guard case .sessionCreated(let created) = try await events.nextControl() else { return nil }
                createdSink.yield(created)
                return try await events.untilEnded()
            }
            return (run.result ?? nil, run.closure)
        }
        var iterator = createdStream.makeAsyncIterator()
        guard let created = await iterator.next() else {
            throw TestFailure("the agent got no session.created: \(try await ending.value.1)")
        }
        return WaitingAgent(created: created, ending: ending)
    }
}

extension TandemInbound.AsyncIterator {
    /// Reads until one media frame and one chat line arrived (other messages are skipped).
    mutating func frameAndChat() async throws -> (MediaFrame, Chat) {
        var frame: MediaFrame?
        var chat: Chat?
        while frame == nil || chat == nil, let event = try await next() {
            switch event {
            case .frame(let received): frame = received
            case .control(.chat(let received)): chat = received
            default: break
            }
        }
        guard let frame, let chat else { throw TestFailure("the connection ended before a frame and a chat line arrived") }
        return (frame, chat)
    }
}
