import Crypto
import Foundation
import Logging
import NIOCore
import TandemClient
import TandemCore
import TandemProtocol
import TandemSQLite
import TandemServer
import Testing

/// Recordings of sessions whose broker was killed (protocol/README.md §19): closed, cut
/// after their last whole entry and hashed into the log at the next start; `tandem replay`
/// says what is the matter in every other case.
@Suite("Recordings of crashed sessions", .timeLimit(.minutes(3)))
struct RecordingCrashTests {
    func sha256(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    /// The HTTP status the API answers `body` with (nil when it succeeds).
    func refusal(_ body: () async throws -> Void) async -> Int? {
        do {
            try await body()
            return nil
        } catch let failure as TandemAPIClient.Failure {
            return failure.status
        } catch {
            return -1
        }
    }

    func replay(_ broker: LiveBroker, session: String, token: String, out: String) throws -> CLIProcess {
        try broker.startReplay(session, token: token, out: out).process
    }

    func fileSize(_ path: String) -> Int {
        FileManager.default.contents(atPath: path)?.count ?? 0
    }

    /// Starts a recorded session the customer agreed to record and that streams `frames`
    /// frames of 2000 bytes; returns the agent, the customer and the session id.
    func recordedSession(
        _ broker: LiveBroker,
        agentToken: String,
        ticket: String,
        frames: Int
    ) async throws -> (LiveParticipant, LiveParticipant, String) {
        let agent = LiveParticipant.connect(broker, hello: .agent(token: agentToken, start: .init(ticket: ticket, mode: .camera, record: true)))
        let created = try await agent.waitFor("session.created") { if case .sessionCreated(let created) = $0 { created } else { nil } }
        let customer = LiveParticipant.connect(broker, hello: .customer(code: created.joinCode))
        try await customer.waitFor("session.joined") { if case .sessionJoined(let joined) = $0 { joined } else { nil } }
        try await customer.send(.consent(Consent(granted: true, source: .camera, recording: true)))
        try await customer.send(.streamStart(StreamStart(streamID: 1, source: .camera, codec: .jpeg, width: 320, height: 240, fps: 5)))
        try await agent.waitFor("stream.start") { if case .streamStart(let start) = $0 { start } else { nil } }
        for sequence in 0..<frames {
            try await customer.send(testFrame(stream: 1, sequence: UInt32(sequence + 1), size: 2000, fill: UInt8(sequence + 1)))
        }
        try await agent.waitForFrames(frames)
        return (agent, customer, created.sessionID)
    }

    @Test(
        "a recorded session on a broker killed with SIGKILL: at restart the torn file is cut, hashed into the log, served and replayed with a note; a live one is still recording; a deleted one is missing"
    )
    func crashedRecording() async throws {
        let directory = try RollbackTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let tokens = try await RollbackTests.addUsers(directory)
        let store = try SQLiteStore(path: directory + "/tandem.sqlite", logger: Logger(label: "tandem.test.store"))

        let first = try await BrokerProcess.start(directory: directory)
        defer { if first.process.isRunning { first.signal(SIGKILL) } }
        let firstBroker = LiveBroker(port: first.port, directory: directory, store: store, statistics: BrokerStatistics())
        let (_, _, sessionID) = try await recordedSession(firstBroker, agentToken: tokens.agent, ticket: "HD-CRASHREC", frames: 3)
        let path = directory + "/recordings/\(sessionID).tdrec"
        // Until the writer has the three frames on disk (magic, 3 × (14 + 24 + 2000), controls).
        let deadline = Date().addingTimeInterval(20)
        while fileSize(path) < 8 + 3 * (14 + MediaFrameHeader.size + 2000), Date() < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(300))
        await first.kill9()
        let whole = try #require(FileManager.default.contents(atPath: path))
        #expect(whole.count >= 8 + 3 * (14 + MediaFrameHeader.size + 2000))
        // What a kill in the middle of a write leaves: a frame entry's header and part of its payload.
        var torn = Data([1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0x13, 0x88])
        torn.append(Data(repeating: 0xAB, count: 100))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: torn)
        try handle.close()
        let closedBeforeRestart = try await store.events(sessionID: sessionID).contains(where: { $0.kind == "recording.closed" })
        #expect(!closedBeforeRestart)

        // The restart closes the session (broker-crash) and its recording.
        let second = try await BrokerProcess.start(directory: directory)
        defer { if second.process.isRunning { second.signal(SIGTERM) } }
        let broker = LiveBroker(port: second.port, directory: directory, store: store, statistics: BrokerStatistics())
        let recovered = try #require(FileManager.default.contents(atPath: path))
        #expect(recovered == whole, "the torn entry is cut off, nothing else")
        let timeline = try await broker.api(tokens.auditor) { try await $0.timeline(sessionID: sessionID) }
        #expect(timeline.session.endReason == .brokerCrash)
        let kinds = timeline.events.map(\.kind)
        let closed = try #require(timeline.events.first { $0.kind == "recording.closed" })
        #expect(kinds.firstIndex(of: "session.ended")! < kinds.firstIndex(of: "recording.closed")!)
        #expect(closed.detail["sha256"] == sha256(whole))
        #expect(closed.detail["bytes"] == String(whole.count))
        #expect(closed.detail["frames"] == "3")
        #expect(closed.detail["recovered"] == "broker-crash")
        #expect(closed.detail["truncatedBytes"] == String(torn.count))
        let report = try await broker.api(tokens.auditor) { try await $0.verifyAuditLog() }
        #expect(report.status == .intact, "\(report.message ?? "")")

        // Served byte for byte, and replayed with a note.
        let served = try await broker.api(tokens.auditor) { try await $0.recording(sessionID: sessionID) }
        #expect(Data(served.readableBytesView) == whole)
        let out = directory + "/replayed"
        let replayed = try replay(broker, session: sessionID, token: tokens.auditor, out: out)
        #expect(try await replayed.waitForExit(seconds: 30) == 0, "\(replayed.text)")
        #expect(replayed.text.contains("matches the audit log"), "\(replayed.text)")
        #expect(replayed.text.contains("the broker stopped during this session"), "\(replayed.text)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out + "/frames").count == 3)

        // A live recorded session: still recording (409), and replay says so.
        let (agent, _, liveID) = try await recordedSession(broker, agentToken: tokens.agent, ticket: "HD-LIVEREC", frames: 1)
        let liveStatus = await refusal { _ = try await broker.api(tokens.auditor) { try await $0.recording(sessionID: liveID) } }
        #expect(liveStatus == 409)
        let live = try replay(broker, session: liveID, token: tokens.auditor, out: directory + "/live")
        #expect(try await live.waitForExit(seconds: 30) == 1)
        #expect(live.text.contains("still recording"), "\(live.text)")

        // The recovered file deleted: missing (404), though the log has its hash.
        try FileManager.default.removeItem(atPath: path)
        let missingStatus = await refusal { _ = try await broker.api(tokens.auditor) { try await $0.recording(sessionID: sessionID) } }
        #expect(missingStatus == 404)
        let missing = try replay(broker, session: sessionID, token: tokens.auditor, out: directory + "/missing")
        #expect(try await missing.waitForExit(seconds: 30) == 1)
        #expect(missing.text.contains("missing"), "\(missing.text)")

        try await agent.send(.sessionEnd(SessionEnd(outcome: .resolved)))
        _ = try await agent.waitFor("session.ended") { if case .sessionEnded(let ended) = $0 { ended } else { nil } }
    }
}
