import Crypto
import Foundation
import Logging
import NIOCore
import TandemClient
import TandemCore
import TandemProtocol
import TandemSQLite
import Testing

@testable import TandemServer

@Suite("Live TLS broker: recording (protocol/README.md §19)", .timeLimit(.minutes(2)))
struct RecordingTests {
    func ended(_ participant: LiveParticipant) async throws -> SessionEnded {
        try await participant.waitFor("session.ended") { if case .sessionEnded(let ended) = $0 { ended } else { nil } }
    }

    func closedEvent(_ broker: LiveBroker, _ sessionID: String) async throws -> AuditEvent {
        for _ in 0..<1500 {
            if let event = try await broker.store.events(sessionID: sessionID).first(where: { $0.kind == "recording.closed" }) { return event }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("no recording.closed for \(sessionID)")
    }

    @Test("a recorded session writes frames and annotations to an append-only file whose SHA-256 is in the audit chain")
    func recorded() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let audrey = try await broker.addUser("audrey", role: .auditor)
            let agent = LiveParticipant.connect(broker, hello: .agent(token: alice, start: .init(ticket: "HD-REC", mode: .camera, record: true)))
            let created = try await agent.waitFor("session.created") { if case .sessionCreated(let created) = $0 { created } else { nil } }
            #expect(created.recording == true)
            let customer = LiveParticipant.connect(broker, hello: .customer(code: created.joinCode))
            let joined = try await customer.waitFor("session.joined") { if case .sessionJoined(let joined) = $0 { joined } else { nil } }
            #expect(joined.recording == true)
            try await customer.send(.consent(Consent(granted: true, source: .camera, recording: true)))
            try await customer.send(.streamStart(StreamStart(streamID: 1, source: .camera, codec: .jpeg, width: 320, height: 240, fps: 5)))
            try await agent.waitFor("stream.start") { if case .streamStart(let start) = $0 { start } else { nil } }
            for sequence in 1...3 { try await customer.send(testFrame(stream: 1, sequence: UInt32(sequence), size: 2000, fill: UInt8(sequence))) }
            try await agent.waitForFrames(3)
            let arrow = Shape(id: "port", kind: .arrow, color: "#ff3b30", points: [[0.2, 0.8], [0.5, 0.5]])
            try await agent.send(.annotation(.add(arrow, owner: .customer, streamID: 1)))
            try await customer.waitFor("the arrow") { if case .annotation(let annotation) = $0 { annotation } else { nil } }
            try await customer.send(testFrame(stream: 1, sequence: 4, size: 3000, fill: 4))
            try await agent.waitForFrames(4)
            try await agent.send(.sessionEnd(SessionEnd(outcome: .resolved)))
            _ = try await ended(customer)

            let closed = try await closedEvent(broker, created.sessionID)
            let path = broker.directory + "/recordings/\(created.sessionID).tdrec"
            let data = try #require(FileManager.default.contents(atPath: path))
            let digest = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
            #expect(closed.detail["sha256"] == digest)
            #expect(closed.detail["bytes"] == String(data.count))
            #expect(closed.detail["frames"] == "4")
            #expect(closed.detail["dropped"] == "0")
            // Every byte of the file went through the recorder, and nothing was dropped.
            let metrics = try await MetricsText.fetch(broker)
            #expect(metrics.value("tandem_recording_bytes_total") == Double(data.count))
            #expect(metrics.value("tandem_recording_frames_dropped_total") == 0)
            let kinds = try await broker.store.events(sessionID: created.sessionID).map(\.kind)
            #expect(kinds.firstIndex(of: "recording.started")! < kinds.firstIndex(of: "stream.started")!)
            #expect(kinds.firstIndex(of: "session.ended")! < kinds.firstIndex(of: "recording.closed")!)
            #expect(
                try await broker.store.verifyAuditLog(publicKey: try await broker.api(audrey) { try await $0.auditPublicKey() }).status == .intact
            )

            // The file: magic, then the entries in order, frames byte for byte as relayed.
            var buffer = ByteBuffer(bytes: data)
            #expect(RecordingEntry.readMagic(from: &buffer))
            var entries: [RecordingEntry] = []
            while let entry = try RecordingEntry.decode(from: &buffer) { entries.append(entry) }
            #expect(buffer.readableBytes == 0)
            let frames = entries.compactMap {
                if case .media(let owner, _, let message) = $0 { (owner, try? MediaFrame.decodeMessage(message)) } else { nil }
            }
            #expect(frames.map { $0.1?.header.sequence } == [1, 2, 3, 4])
            #expect(frames.allSatisfy { $0.0 == .customer })
            #expect(frames.last?.1?.payload == ByteBuffer(repeating: 4, count: 3000))
            let controls = entries.compactMap { if case .control(_, _, let json) = $0 { try? ControlMessage.decode(text: json) } else { nil } }
            #expect(controls.contains { if case .streamStart(let start) = $0 { start.streamID == 1 } else { false } })
            #expect(controls.contains { if case .annotation(let annotation) = $0 { annotation.shape?.id == "port" } else { false } })
            let times = entries.map(\.timeMicros)
            #expect(times == times.sorted())

            // Served to those who may read the session; byte for byte.
            let served = try await broker.api(audrey) { try await $0.recording(sessionID: created.sessionID) }
            #expect(Data(served.readableBytesView) == data)
        }
    }

    @Test("without the customer's agreement nothing is recorded; a session nobody asked to record has no file")
    func refused() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let agent = LiveParticipant.connect(broker, hello: .agent(token: alice, start: .init(ticket: "HD-NOREC", mode: .camera, record: true)))
            let created = try await agent.waitFor("session.created") { if case .sessionCreated(let created) = $0 { created } else { nil } }
            let customer = LiveParticipant.connect(broker, hello: .customer(code: created.joinCode))
            try await customer.waitFor("session.joined") { if case .sessionJoined(let joined) = $0 { joined } else { nil } }
            try await customer.send(.consent(Consent(granted: true, source: .camera, recording: false)))
            try await customer.send(.streamStart(StreamStart(streamID: 1, source: .camera, codec: .jpeg, width: 64, height: 48, fps: 5)))
            try await customer.send(testFrame(stream: 1, sequence: 1, size: 100, fill: 1))
            try await agent.waitForFrames(1)
            let consent = try await agent.waitFor("consent") { if case .consent(let consent) = $0 { consent } else { nil } }
            #expect(consent.recording == false)
            try await agent.send(.sessionEnd(SessionEnd(outcome: .resolved)))
            _ = try await ended(customer)
            let events = try await broker.store.events(sessionID: created.sessionID)
            #expect(events.first { $0.kind == "consent.granted" }?.detail["recording"] == "refused")
            #expect(!events.contains { $0.kind.rawValue.hasPrefix("recording.") })
            #expect(!FileManager.default.fileExists(atPath: broker.directory + "/recordings/\(created.sessionID).tdrec"))
            await #expect(throws: TandemAPIClient.Failure.self) {
                try await broker.api(alice) { try await $0.recording(sessionID: created.sessionID) }
            }

            let plain = try await broker.startWaitingAgent(token: alice, ticket: "HD-PLAIN")
            #expect(plain.created.recording == nil)
            #expect(try await MetricsText.fetch(broker).value("tandem_recording_bytes_total") == 0)
        }
    }

    @Test("what the recorder's full queue refuses is counted in tandem_recording_frames_dropped_total; the close is not")
    func droppedWhenFull() async throws {
        let directory = NSTemporaryDirectory() + "tandem-recording-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let logger = Logger(label: "tandem.test.recording")
        let store = try SQLiteStore(path: directory + "/tandem.sqlite", logger: logger)
        let metrics = BrokerMetrics()
        // A recorder whose disk does not keep up: it is not running, and its queue holds one entry.
        let writer = RecordingWriter(directory: directory + "/recordings", store: store, capacity: 1, logger: logger, metrics: metrics)
        let recording = SessionRecording(sessionID: "s_dropped", writer: writer)
        #expect(recording.start())
        for sequence in 1...3 {
            recording.media(from: .customer, message: ByteBuffer(repeating: UInt8(sequence), count: 100))
        }
        recording.control(from: .customer, .streamStart(StreamStart(streamID: 1, source: .camera, codec: .jpeg, width: 64, height: 48, fps: 5)))
        // Not kept: nothing is counted.
        recording.control(from: .customer, .chat(Chat(text: "hello")))
        #expect(MetricsText(text: metrics.exposition()).value("tandem_recording_frames_dropped_total") == 4)
        // A close that finds no room is tried again, not lost.
        #expect(!writer.send(.close(sessionID: "s_dropped", dropped: 4)))
        #expect(MetricsText(text: metrics.exposition()).value("tandem_recording_frames_dropped_total") == 4)
        #expect(MetricsText(text: metrics.exposition()).value("tandem_recording_bytes_total") == 0)
    }
}
