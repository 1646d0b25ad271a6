import Foundation
import Logging
import NIOCore
import TandemClient
import TandemCore
import TandemProtocol
import TandemServer
import Testing
import ZIPFoundation

/// Evidence bundles (protocol/README.md §11.9) from a live broker, checked offline by the
/// Swift verifier, `tandem audit verify --bundle` and protocol/verify_bundle.py, good and
/// tampered in every way the spec names.
@Suite("Live TLS broker: evidence bundles verify offline; tampering is caught (§11.9)", .timeLimit(.minutes(3)))
struct EvidenceBundleTests {
    static let pythonVerifier = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("protocol/verify_bundle.py").path

    typealias Entries = [String: [UInt8]]

    static func entries(_ data: Data) throws -> Entries {
        let archive = try Archive(data: data, accessMode: .read)
        var entries: Entries = [:]
        for entry in archive where entry.type == .file {
            var bytes: [UInt8] = []
            _ = try archive.extract(entry) { bytes.append(contentsOf: $0) }
            entries[entry.path] = bytes
        }
        return entries
    }

    static func write(_ entries: Entries, to path: String) throws {
        try? FileManager.default.removeItem(atPath: path)
        let archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .create)
        for name in entries.keys.sorted() {
            let data = Data(entries[name]!)
            try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate) { position, size in
                data.subdata(in: Int(position)..<Int(position) + size)
            }
        }
    }

    /// A recorded, ended session with a few frames and an arrow; returns its id.
    static func recordedSession(_ broker: LiveBroker, agentToken: String, ticket: String, record: Bool = true) async throws -> String {
        let agent = LiveParticipant.connect(broker, hello: .agent(token: agentToken, start: .init(ticket: ticket, mode: .camera, record: record)))
        let created = try await agent.waitFor("session.created") { if case .sessionCreated(let created) = $0 { created } else { nil } }
        let customer = LiveParticipant.connect(broker, hello: .customer(code: created.joinCode))
        _ = try await customer.waitFor("session.joined") { if case .sessionJoined(let joined) = $0 { joined } else { nil } }
        try await customer.send(.consent(Consent(granted: true, source: .camera, recording: record ? true : nil)))
        try await customer.send(.streamStart(StreamStart(streamID: 1, source: .camera, codec: .jpeg, width: 320, height: 240, fps: 5)))
        try await agent.waitFor("stream.start") { if case .streamStart(let start) = $0 { start } else { nil } }
        for sequence in 1...3 { try await customer.send(testFrame(stream: 1, sequence: UInt32(sequence), size: 2000, fill: UInt8(sequence))) }
        try await agent.waitForFrames(3)
        try await agent.send(.sessionEnd(SessionEnd(outcome: .resolved, note: "port <b>4</b> & the WAN cable \u{0600}<i>x")))
        _ = try await customer.waitFor("session.ended") { if case .sessionEnded(let ended) = $0 { ended } else { nil } }
        if record {
            for _ in 0..<1500 {
                if try await broker.store.events(sessionID: created.sessionID).contains(where: { $0.kind == .recordingClosed }) { break }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        return created.sessionID
    }

    /// What the three verifiers say: the Swift one's failing check (nil: all held), and the
    /// exit status and output of the CLI and of the Python verifier.
    struct Verdicts {
        var swift: String?
        var cli: (status: Int32, output: String)
        var python: (status: Int32, output: String)
    }

    static func verdicts(_ entries: Entries, path: String, key: AuditPublicKey?, keyFile: String?) async throws -> Verdicts {
        try write(entries, to: path)
        let report = EvidenceVerifier.verify(entries: entries, expectedKey: key?.raw)
        let keyArguments = keyFile.map { ["--key", $0] } ?? []
        let cli = try await ChildProcess.run([try BrokerProcess.binary, "audit", "verify", "--bundle", path] + keyArguments)
        let python = try await ChildProcess.run(["python3", pythonVerifier, path] + keyArguments)
        return Verdicts(
            swift: report.failure?.check,
            cli: (cli.status, String(decoding: cli.stdout, as: UTF8.self)),
            python: (python.status, String(decoding: python.stdout + python.stderr, as: UTF8.self))
        )
    }

    /// All three reject with `check` named.
    static func expectRejected(_ verdicts: Verdicts, at check: String, _ what: String) {
        #expect(verdicts.swift == check, "\(what): swift")
        #expect(verdicts.cli.status == 1 && verdicts.cli.output.contains("FAILED \(check):"), "\(what): cli \(verdicts.cli.output)")
        #expect(verdicts.python.status == 1 && verdicts.python.output.contains("FAILED \(check):"), "\(what): python \(verdicts.python.output)")
    }

    /// Re-signs `entries` as a broker holding `signer` would: the manifest's file list, the
    /// manifest, and (with `head`) the tree head.
    static func resign(
        _ entries: Entries,
        signer: AuditSigner,
        head: TreeHead? = nil,
        change: (inout EvidenceManifest) -> Void = { _ in }
    ) throws -> Entries {
        var entries = entries
        var manifest = try TandemJSON.makeDecoder().decode(EvidenceManifest.self, from: Data(entries["manifest.json"]!))
        if let head { manifest.treeHead = try signer.sign(head) }
        change(&manifest)
        manifest.files = manifest.files.compactMap { file in
            guard let bytes = entries[file.name] else { return nil }
            return EvidenceManifest.File(name: file.name, sha256: EvidenceVerifier.sha256Hex(bytes), bytes: bytes.count)
        }
        manifest = try signer.sign(manifest)
        entries["manifest.json"] = Array(try TandemJSON.makeEncoder().encode(manifest))
        return entries
    }

    static func events(_ entries: Entries) throws -> [BundledEvent] {
        try TandemJSON.makeDecoder().decode(BundledEvents.self, from: Data(entries["events.json"]!)).events
    }

    static func withEvents(_ entries: Entries, _ change: (inout [BundledEvent]) -> Void) throws -> Entries {
        var entries = entries
        var events = try events(entries)
        change(&events)
        entries["events.json"] = Array(try TandemJSON.makeEncoder().encode(BundledEvents(events: events)))
        return entries
    }

    @Test("a recorded session's bundle verifies with Swift, the CLI and Python; each kind of tampering is caught by all three")
    func bundles() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let audrey = try await broker.addUser("audrey", role: .auditor)
            let sessionID = try await Self.recordedSession(broker, agentToken: alice, ticket: "HD-EV<1>")
            let other = try await Self.recordedSession(broker, agentToken: alice, ticket: "HD-EV2", record: false)
            let key = try await broker.api(audrey) { try await $0.auditPublicKey() }
            let work = broker.directory + "/evidence"
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            let keyFile = work + "/broker.pem"
            try key.pem.write(toFile: keyFile, atomically: true, encoding: .utf8)
            let path = work + "/bundle.zip"

            // The good bundle: every check holds, in all three verifiers.
            let good = try Self.entries(Data(try await broker.api(audrey) { try await $0.evidenceBundle(sessionID: sessionID) }.readableBytesView))
            // The file the broker wrote is gone once it was sent.
            var left = ["?"]
            for _ in 0..<50 where !left.isEmpty {
                left = (try? FileManager.default.contentsOfDirectory(atPath: broker.directory + "/bundles")) ?? []
                if !left.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(left.isEmpty, "\(left)")
            #expect(Set(good.keys) == ["manifest.json", "events.json", "public-key.pem", "summary.html", "recording/\(sessionID).tdrec"])
            let manifest = try TandemJSON.makeDecoder().decode(EvidenceManifest.self, from: Data(good["manifest.json"]!))
            let storedEvents = try await broker.store.events(sessionID: sessionID)
            #expect(manifest.eventCount == storedEvents.count)
            #expect(try Self.events(good).map(\.event) == storedEvents)
            #expect(manifest.fingerprint == key.fingerprint)
            let summary = String(decoding: good["summary.html"]!, as: UTF8.self)
            #expect(
                summary.contains("HD-EV&lt;1&gt;") && summary.contains("port &lt;b&gt;4&lt;/b&gt; &amp; the WAN cable") && !summary.contains("<b>4")
            )
            #expect(!summary.contains("<script"))
            let verdicts = try await Self.verdicts(good, path: path, key: key, keyFile: keyFile)
            #expect(verdicts.swift == nil)
            #expect(
                verdicts.cli.status == 0 && verdicts.cli.output.contains("ok completeness (sessionSeq 1-\(storedEvents.count))"),
                "\(verdicts.cli.output)"
            )
            #expect(verdicts.python.status == 0 && verdicts.python.output.contains("ok recording (recording/"), "\(verdicts.python.output)")

            // Without the recording, and a session never recorded.
            let lean = try Self.entries(
                Data(try await broker.api(audrey) { try await $0.evidenceBundle(sessionID: sessionID, includeRecording: false) }.readableBytesView)
            )
            let leanVerdicts = try await Self.verdicts(lean, path: path, key: key, keyFile: keyFile)
            #expect(
                leanVerdicts.cli.status == 0 && leanVerdicts.cli.output.contains("ok recording: left out of the bundle"),
                "\(leanVerdicts.cli.output)"
            )
            #expect(leanVerdicts.python.status == 0 && leanVerdicts.python.output.contains("left out"), "\(leanVerdicts.python.output)")
            let plain = try Self.entries(Data(try await broker.api(audrey) { try await $0.evidenceBundle(sessionID: other) }.readableBytesView))
            let plainVerdicts = try await Self.verdicts(plain, path: path, key: key, keyFile: keyFile)
            #expect(plainVerdicts.cli.status == 0 && plainVerdicts.cli.output.contains("ok recording: none"), "\(plainVerdicts.cli.output)")
            #expect(plainVerdicts.python.status == 0, "\(plainVerdicts.python.output)")

            // Whoever holds the file but not the key: any change breaks the listed hashes.
            let edited = try Self.withEvents(good) { $0[2].event.detail["address"] = "203.0.113.9" }
            Self.expectRejected(try await Self.verdicts(edited, path: path, key: key, keyFile: keyFile), at: "files", "an altered event, unsigned")
            var swapped = good
            swapped["recording/\(sessionID).tdrec"] = Array(repeating: 7, count: 100)
            Self.expectRejected(
                try await Self.verdicts(swapped, path: path, key: key, keyFile: keyFile),
                at: "files",
                "a swapped recording, unsigned"
            )
            var summaryEdited = good
            summaryEdited["summary.html"] = Array("<p>nothing happened</p>".utf8)
            Self.expectRejected(try await Self.verdicts(summaryEdited, path: path, key: key, keyFile: keyFile), at: "files", "an edited summary")

            // Even re-signed with the broker's own key, the events, their numbers and the
            // recording's logged hash give every change away.
            let signer = try broker.signer()
            let altered = try Self.resign(try Self.withEvents(good) { $0[1].event.actor = "mallory" }, signer: signer)
            Self.expectRejected(try await Self.verdicts(altered, path: path, key: key, keyFile: keyFile), at: "events", "an altered event")
            let removed = try Self.resign(try Self.withEvents(good) { $0.remove(at: 2) }, signer: signer) { $0.eventCount -= 1 }
            Self.expectRejected(try await Self.verdicts(removed, path: path, key: key, keyFile: keyFile), at: "completeness", "a removed event")
            let cut = try Self.resign(try Self.withEvents(good) { $0.removeLast() }, signer: signer)
            Self.expectRejected(try await Self.verdicts(cut, path: path, key: key, keyFile: keyFile), at: "completeness", "the last event removed")
            var otherRecording = good
            otherRecording["recording/\(sessionID).tdrec"] = Array(repeating: 9, count: 4096)
            let swappedSigned = try Self.resign(otherRecording, signer: signer) { manifest in
                manifest.recording?.sha256 = EvidenceVerifier.sha256Hex(Array(repeating: 9, count: 4096))
                manifest.recording?.bytes = 4096
            }
            Self.expectRejected(
                try await Self.verdicts(swappedSigned, path: path, key: key, keyFile: keyFile),
                at: "recording",
                "a swapped recording"
            )
            // The proofs of another (smaller) tree under this head.
            _ = try await broker.addUser("bob", role: .agent)
            let later = try await broker.api(audrey) { try await $0.treeHead() }
            #expect(later.size > manifest.treeHead.size)
            let otherTree = try Self.resign(good, signer: signer, head: later)
            Self.expectRejected(try await Self.verdicts(otherTree, path: path, key: key, keyFile: keyFile), at: "events", "proofs for another tree")

            // Another key: refused against the broker's; without --key it verifies, but under
            // another fingerprint than the broker's.
            let stranger = AuditSigner()
            var foreign = good
            foreign["public-key.pem"] = Array(stranger.publicKey.pem.utf8)
            foreign = try Self.resign(foreign, signer: stranger, head: manifest.treeHead) { manifest in
                manifest.publicKey = stranger.publicKey.raw
                manifest.fingerprint = stranger.publicKey.fingerprint
            }
            Self.expectRejected(try await Self.verdicts(foreign, path: path, key: key, keyFile: keyFile), at: "key", "a bundle signed by another key")
            let unpinned = try await Self.verdicts(foreign, path: path, key: nil, keyFile: nil)
            #expect(
                unpinned.cli.status == 0 && unpinned.cli.output.contains(stranger.publicKey.fingerprint)
                    && !unpinned.cli.output.contains(key.fingerprint)
            )

            // Not a bundle at all: exit 2.
            try Data("not a zip".utf8).write(to: URL(fileURLWithPath: path))
            #expect(try await ChildProcess.run([try BrokerProcess.binary, "audit", "verify", "--bundle", path]).status == 2)
            #expect(try await ChildProcess.run(["python3", Self.pythonVerifier, path]).status == 2)
        }
    }

    @Test("a broker writes at most evidenceBundlesAtOnce bundles at a time; the next request gets 503 busy with Retry-After")
    func busy() async throws {
        try await LiveBroker.run(configure: { $0.evidenceBundlesAtOnce = 0 }) { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let audrey = try await broker.addUser("audrey", role: .auditor)
            let sessionID = try await Self.recordedSession(broker, agentToken: alice, ticket: "HD-EV4", record: false)
            let refused = try await broker.refusal(audrey) { client in _ = try await client.evidenceBundle(sessionID: sessionID) }
            #expect(refused?.status == 503)
            #expect(refused?.code == "busy")
            // Nothing is left behind for the refused request.
            let written = (try? FileManager.default.contentsOfDirectory(atPath: broker.directory + "/bundles")) ?? []
            #expect(written.isEmpty)
        }
    }

    @Test("bundles are for auditors and admins, of ended sessions that exist")
    func refusals() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let audrey = try await broker.addUser("audrey", role: .auditor)
            let sessionID = try await Self.recordedSession(broker, agentToken: alice, ticket: "HD-EV3", record: false)
            let agentRefused = try await broker.refusal(alice) { client in _ = try await client.evidenceBundle(sessionID: sessionID) }?.status
            #expect(agentRefused == 403)
            let missing = try await broker.refusal(audrey) { client in _ = try await client.evidenceBundle(sessionID: "s_nosuchsession") }?.status
            #expect(missing == 404)
            let live = LiveParticipant.connect(broker, hello: .agent(token: alice, start: .init(ticket: "HD-LIVE", mode: .screen)))
            let created = try await live.waitFor("session.created") { if case .sessionCreated(let created) = $0 { created } else { nil } }
            let liveRefused = try await broker.refusal(audrey) { client in _ = try await client.evidenceBundle(sessionID: created.sessionID) }?.status
            #expect(liveRefused == 409)
        }
    }
}
