import Foundation
import Logging
import NIOConcurrencyHelpers
import TandemClient
import TandemCore
import TandemProtocol
import TandemSQLite
import TandemServer
import Testing

/// Something a client was told, so the broker must have committed it: (session, event kind).
struct Acknowledged: Hashable, Sendable {
    let sessionID: String
    let kind: String
}

@Suite("kill -9 of the broker process: nothing acknowledged is lost, no session stays open, the chain verifies")
struct CrashLoopTests {
    let logger = Logger(label: "tandem.test.crash")

    /// `TANDEM_CRASH_ITERATIONS` raises the count (scripts/crash-loop.sh).
    var iterations: Int { Int(ProcessInfo.processInfo.environment["TANDEM_CRASH_ITERATIONS"] ?? "") ?? 50 }

    @Test("the broker is killed at random points of session start, events and end, again and again")
    func crashLoop() async throws {
        let directory = NSTemporaryDirectory() + "tandem-crash-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: directory + "/tandem.sqlite", logger: logger)
        let token = APIToken.generate()
        _ = try await store.addUser(UserRecord(name: "alice", role: .agent, tokenHash: APIToken.hash(token), createdAt: Date()))
        let acknowledged = NIOLockedValueBox<Set<Acknowledged>>([])
        var generator = SystemRandomNumberGenerator()

        for _ in 0..<iterations {
            let broker = try await BrokerProcess.start(directory: directory)
            // The restart closed everything the previous broker left open.
            #expect(try await store.sessions(matching: SessionFilter(limit: Int.max)).allSatisfy(\.isEnded))
            let workload = Task { [logger] in
                while !Task.isCancelled {
                    do {
                        try await Self.oneSession(broker.clientConfiguration, token: token, logger: logger) { ack in
                            acknowledged.withLockedValue { _ = $0.insert(ack) }
                        }
                    } catch {
                        return
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 20...450, using: &generator)))
            await broker.kill9()
            workload.cancel()
            _ = await workload.value
        }
        // One more start closes the sessions the last kill left open; then stop it gracefully.
        let last = try await BrokerProcess.start(directory: directory)
        await last.terminate()

        let sessions = try await store.sessions(matching: SessionFilter(limit: Int.max))
        let acks = acknowledged.withLockedValue { $0 }
        let open = sessions.filter { !$0.isEnded }.map(\.id)
        #expect(open.isEmpty, "sessions left open: \(open)")
        #expect(acks.contains { $0.kind == "session.ended" }, "no session completed between kills")
        var crashed = 0
        for session in sessions {
            let events = try await store.events(sessionID: session.id)
            let kinds = Set(events.map(\.kind))
            for ack in acks where ack.sessionID == session.id {
                #expect(kinds.contains(AuditEventKind(rawValue: ack.kind)), "\(ack.kind) of \(session.id) was acknowledged but is not in the log")
            }
            #expect(events.last?.kind == "session.ended")
            if session.endReason == .brokerCrash {
                crashed += 1
                // Closed no earlier than the last thing recorded about it.
                let lastActivity = events.dropLast().map(\.at).max() ?? session.createdAt
                #expect(session.endedAt! >= lastActivity.addingTimeInterval(-0.002))
                #expect(!acks.contains(Acknowledged(sessionID: session.id, kind: "session.ended")))
            }
        }
        #expect(Set(acks.map(\.sessionID)).isSubset(of: Set(sessions.map(\.id))))
        #expect(crashed > 0, "no kill hit a live session")
        print(
            "crash loop: \(iterations) kills, \(sessions.count) sessions, \(crashed) closed as broker-crash, \(acks.count) acknowledged events checked"
        )
        let key = try AuditSigningKey.loadOrCreate(directory: directory, logger: logger)
        let verification = try await store.verifyAuditLog(publicKey: key.publicKey)
        #expect(verification.status == .intact, "\(verification.message ?? "")")
        #expect(verification.checkpoints >= 1)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// One session from start to end; `ack` is called for each thing a client was told.
    static func oneSession(
        _ configuration: TandemClientConfiguration,
        token: String,
        logger: Logger,
        ack: @escaping @Sendable (Acknowledged) -> Void
    ) async throws {
        let (codes, codeSink) = AsyncStream<String>.makeStream()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { codeSink.finish() }
                _ = try await TandemConnection.run(
                    configuration: configuration,
                    hello: .agent(token: token, start: .init(ticket: "HD-CRASH", mode: .camera)),
                    logger: logger
                ) { inbound, outbound in
                    var events = inbound.makeAsyncIterator()
                    guard case .sessionCreated(let created) = try await events.nextControl() else { return }
                    ack(Acknowledged(sessionID: created.sessionID, kind: "session.created"))
                    codeSink.yield(created.joinCode)
                    while let event = try await events.next() {
                        switch event {
                        case .control(.consent):
                            ack(Acknowledged(sessionID: created.sessionID, kind: "consent.granted"))
                        case .control(.streamStart):
                            ack(Acknowledged(sessionID: created.sessionID, kind: "stream.started"))
                            try await outbound.send(.freeze(Freeze(owner: .customer, streamID: 1, sequence: 1)))
                        case .control(.chat):
                            try await outbound.send(.sessionEnd(SessionEnd(outcome: .resolved, note: "crash loop")))
                        case .control(.sessionEnded):
                            ack(Acknowledged(sessionID: created.sessionID, kind: "session.ended"))
                            return
                        default:
                            continue
                        }
                    }
                }
            }
            var iterator = codes.makeAsyncIterator()
            guard let code = await iterator.next() else {
                try await group.waitForAll()
                throw TestFailure("no session")
            }
            _ = try await TandemConnection.run(configuration: configuration, hello: .customer(code: code), logger: logger) { inbound, outbound in
                var events = inbound.makeAsyncIterator()
                guard case .sessionJoined(let joined) = try await events.nextControl() else { return }
                ack(Acknowledged(sessionID: joined.sessionID, kind: "customer.joined"))
                try await outbound.send(.consent(Consent(granted: true)))
                try await outbound.send(.streamStart(StreamStart(streamID: 1, source: .camera, codec: .jpeg, width: 640, height: 480, fps: 10)))
                while let event = try await events.next() {
                    switch event {
                    case .control(.freeze):
                        ack(Acknowledged(sessionID: joined.sessionID, kind: "freeze.started"))
                        try await outbound.send(.chat(Chat(text: "frozen frame seen")))
                    case .control(.sessionEnded):
                        ack(Acknowledged(sessionID: joined.sessionID, kind: "session.ended"))
                        return
                    default:
                        continue
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
