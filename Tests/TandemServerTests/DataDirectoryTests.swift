import Foundation
import Logging
import TandemClient
import TandemCore
import TandemProtocol
import TandemServer
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The data directory holds private keys, the log (customers' addresses, tickets, notes) and
/// recordings: it is the broker user's only, whatever the umask; and it belongs to one
/// broker at a time.
@Suite("The data directory: private modes, one broker at a time", .timeLimit(.minutes(2)))
struct DataDirectoryTests {
    let logger = Logger(label: "tandem.test.datadir")

    struct Entry: Equatable, CustomStringConvertible {
        let mode: Int
        let isDirectory: Bool
        var description: String { (isDirectory ? "d" : "-") + String(mode, radix: 8) }
    }

    /// Every file and folder under `root` (root itself as ""), with its permission bits.
    static func entries(under root: String) throws -> [String: Entry] {
        func entry(_ path: String) throws -> Entry {
            var info = stat()
            guard stat(path, &info) == 0 else { throw TestFailure("cannot stat \(path)") }
            return Entry(mode: Int(info.st_mode & 0o7777), isDirectory: info.st_mode & S_IFMT == S_IFDIR)
        }
        var result = ["": try entry(root)]
        for relative in try FileManager.default.subpathsOfDirectory(atPath: root) {
            result[relative] = try entry(root + "/" + relative)
        }
        return result
    }

    /// Public files (certificates, the public key, the broker id) may be readable by others;
    /// nothing may be writable by others; everything else is 0600, every folder 0700.
    static let publicFiles: Set<String> = ["certs/ca.pem", "certs/server.pem", "audit-signing.pub.pem", "broker-id"]

    static func checkModes(_ entries: [String: Entry], when: String) {
        for (path, entry) in entries.sorted(by: { $0.key < $1.key }) {
            let name = path.isEmpty ? "the data directory" : path
            if entry.isDirectory {
                #expect(entry.mode == 0o700, "\(when): \(name) is \(entry)")
            } else if publicFiles.contains(path) {
                #expect(entry.mode & 0o022 == 0, "\(when): \(name) is \(entry)")
            } else {
                #expect(entry.mode == 0o600, "\(when): \(name) is \(entry)")
            }
        }
    }

    @Test("tandem serve under umask 000 makes the data directory and its folders 0700; keys, database, lock and recordings 0600")
    func freshDirectoryModes() async throws {
        let root = NSTemporaryDirectory() + "tandem-modes-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = root + "/data"  // missing: serve makes it
        let broker = try await BrokerProcess.start(directory: directory, umask: "000")
        // What the broker made by itself, before anything else opened its files.
        let started = try Self.entries(under: directory)
        for expected in ["", "certs", "certs/ca.key.pem", "certs/server.key.pem", "audit-signing.key", "tandem.sqlite", "broker.lock"] {
            #expect(started[expected] != nil, "\(expected) was not made")
        }
        Self.checkModes(started, when: "at start")

        // A recorded session adds the -wal/-shm of use and a recording.
        do {
            let added = try await ChildProcess.run([try BrokerProcess.binary, "users", "add", "alice", "--role", "agent", "--data-dir", directory])
            let token = try #require(
                String(decoding: added.stdout, as: UTF8.self).split(separator: "\n").map(String.init).last { $0.hasPrefix("tdm_") }
            )
            let sessionID = try await recordedSession(broker.clientConfiguration, token: token)
            let recording = directory + "/recordings/\(sessionID).tdrec"
            for _ in 0..<250 where !FileManager.default.fileExists(atPath: recording) { try await Task.sleep(for: .milliseconds(20)) }
            #expect(FileManager.default.fileExists(atPath: recording))
        } catch {
            await broker.terminate()
            throw error
        }
        await broker.terminate()
        Self.checkModes(try Self.entries(under: directory), when: "after a recorded session")
    }

    @Test("an existing data directory open to others is tightened to 0700 at start")
    func looseDirectoryIsTightened() async throws {
        let directory = NSTemporaryDirectory() + "tandem-loose-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        #expect(chmod(directory, 0o755) == 0)
        try await LiveBroker.run(directory: directory) { _ in }
        #expect(try Self.entries(under: directory)[""]?.mode == 0o700)
    }

    /// One session that the customer agrees to record; returns its id once it ended.
    func recordedSession(_ configuration: TandemClientConfiguration, token: String) async throws -> String {
        let (createdStream, createdSink) = AsyncStream<SessionCreated>.makeStream()
        let agent = Task { [logger] in
            defer { createdSink.finish() }
            return try await TandemConnection.run(
                configuration: configuration,
                hello: .agent(token: token, start: .init(ticket: "HD-MODES", mode: .camera, record: true)),
                logger: logger
            ) { inbound, outbound -> SessionEnded? in
                var events = inbound.makeAsyncIterator()
                guard case .sessionCreated(let created) = try await events.nextControl() else { return nil }
                createdSink.yield(created)
                while let event = try await events.next() {
                    switch event {
                    case .frame: try await outbound.send(.sessionEnd(SessionEnd(outcome: .resolved)))
                    case .control(.sessionEnded(let ended)): return ended
                    default: continue
                    }
                }
                return nil
            }.result ?? nil
        }
        var iterator = createdStream.makeAsyncIterator()
        let created = try #require(await iterator.next(), "no session.created")
        _ = try await TandemConnection.run(configuration: configuration, hello: .customer(code: created.joinCode), logger: logger) {
            inbound,
            outbound in
            var events = inbound.makeAsyncIterator()
            guard case .sessionJoined = try await events.nextControl() else { return }
            try await outbound.send(.consent(Consent(granted: true, source: .camera, recording: true)))
            try await outbound.send(.streamStart(StreamStart(streamID: 1, source: .camera, codec: .jpeg, width: 320, height: 240, fps: 5)))
            try await outbound.send(testFrame(stream: 1, sequence: 1, size: 1000, fill: 7))
            _ = try await events.untilEnded()
        }
        #expect(try await agent.value?.outcome == .resolved)
        return created.sessionID
    }

    @Test("a second broker on a live broker's data directory exits 1 naming it, changes nothing, and the session ends normally")
    func secondBrokerRefused() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let agent = LiveParticipant.connect(broker, hello: .agent(token: alice, start: .init(ticket: "HD-TWO", mode: .camera)))
            let created = try await agent.waitFor("session.created") { if case .sessionCreated(let created) = $0 { created } else { nil } }
            let customer = LiveParticipant.connect(broker, hello: .customer(code: created.joinCode))
            try await customer.waitFor("session.joined") { if case .sessionJoined(let joined) = $0 { joined } else { nil } }
            try await customer.send(.consent(Consent(granted: true, source: .camera)))

            let before = try Self.files(under: broker.directory)
            // Bounded: a broker that (wrongly) starts is stopped after 20 s, and the test fails.
            let second = try await ChildProcess.run([
                "timeout", "20", try BrokerProcess.binary, "serve", "--data-dir", broker.directory, "--port", "0", "--log-level", "info",
            ])
            let errors = String(decoding: second.stderr, as: UTF8.self)
            #expect(second.status == 1, "exit status \(second.status): \(errors)")
            #expect(errors.contains("another broker (pid \(getpid())) is running on the data directory"), "\(errors)")
            #expect(errors.contains("broker.lock"))
            #expect(!String(decoding: second.stdout, as: UTF8.self).contains("listening"))
            // Nothing made or rewritten: no broker id, no new certificate, same keys.
            let after = try Self.files(under: broker.directory)
            #expect(Set(after.keys) == Set(before.keys))
            for (path, data) in before where !path.hasPrefix("tandem.sqlite") {
                #expect(after[path] == data, "\(path) changed")
            }
            let live = try #require(try await broker.store.session(id: created.sessionID))
            #expect(live.endedAt == nil, "the session was closed: \(String(describing: live.endReason))")

            // The session goes on and ends as the agent says.
            try await customer.send(.chat(Chat(text: "still here")))
            try await agent.waitFor("the chat") { if case .chat(let chat) = $0 { chat } else { nil } }
            try await agent.send(.sessionEnd(SessionEnd(outcome: .resolved, note: "router restarted")))
            let ended = try await customer.waitFor("session.ended") { if case .sessionEnded(let ended) = $0 { ended } else { nil } }
            #expect(ended.reason == .agentEnded)
            let record = try #require(try await broker.store.session(id: created.sessionID))
            #expect(record.endReason == .agentEnded)
            #expect(record.outcome == .resolved)
            #expect(record.note == "router restarted")
            let events = try await broker.store.events(sessionID: created.sessionID)
            #expect(events.filter { $0.kind == "session.ended" }.count == 1)
            #expect(!events.contains { $0.detail["reason"] == EndReason.brokerCrash.rawValue })
        }
    }

    /// Contents of every regular file under `root`, by relative path.
    static func files(under root: String) throws -> [String: Data] {
        var result: [String: Data] = [:]
        for (path, entry) in try entries(under: root) where !entry.isDirectory {
            result[path] = FileManager.default.contents(atPath: root + "/" + path) ?? Data()
        }
        return result
    }
}
