import Atomics
import Crypto
import Foundation
import NIOPosix
import TandemCore
import TandemProtocol
import ZIPFoundation

/// Writes one session's evidence bundle (protocol/README.md §11.9) as a ZIP file in
/// `directory`: its events with their inclusion proofs in one signed tree head, the
/// broker's key, a summary for people, the recording, and the signed manifest.
///
/// Files are written to `directory`, served from there and removed once sent; a file whose
/// download never started (a HEAD request, a client gone) is removed by the next write after
/// ``keepFor``. At most `atOnce` are written at once.
struct EvidenceBundleWriter {
    let store: any TandemStore
    let tree: AuditTree
    let signer: AuditSigner
    let recordings: String
    let directory: String
    static let keepFor: TimeInterval = 600

    struct Refusal: Error, CustomStringConvertible {
        let description: String
    }

    /// Bundles being written now on this broker, and how many may be.
    let writing: ManagedAtomic<Int>
    let atOnce: Int

    /// The written file and its length. Throws ``Refusal`` when no complete bundle can be
    /// made now, ``Busy`` when `atOnce` are being written, and the tree's refusal when it
    /// signs no head over the log.
    func write(session: SessionRecord, includeRecording: Bool) async throws -> (path: String, bytes: Int) {
        guard writing.wrappingIncrementThenLoad(ordering: .relaxed) <= atOnce else {
            writing.wrappingDecrement(ordering: .relaxed)
            throw Busy()
        }
        defer { writing.wrappingDecrement(ordering: .relaxed) }
        let all = try await store.events(sessionID: session.id)
        if let first = all.first, first.sessionSeq.map({ $0 != 1 }) ?? false {
            throw Refusal(description: "the first events of session \(session.id) were pruned (§11.6); no complete bundle can be made")
        }
        if all.contains(where: { $0.kind == .recordingStarted }) && !all.contains(where: { $0.kind == .recordingClosed }) {
            throw Refusal(
                description:
                    "the recording of session \(session.id) is not closed: its SHA-256 is not in the audit log (a recording cut short is closed at the broker's next start)"
            )
        }
        // Proofs and the root from one view of the tree: the events the tree holds now.
        let proven = try await tree.read { view -> Result<(events: [BundledEvent], head: TreeHead), Refusal> in
            let events = all.filter { $0.seq < view.firstSeq + Int64(view.size) }
            guard !events.isEmpty else { return .failure(Refusal(description: "session \(session.id) has no events in the log")) }
            var bundled: [BundledEvent] = []
            for event in events {
                guard view.holds(seq: event.seq, hash: event.hash) else {
                    return .failure(Refusal(description: "event \(event.seq) is not in the log's tree as it was; run tandem audit verify"))
                }
                let path = view.inclusionProof(seq: event.seq, size: view.size).map(\.lowercaseHex)
                bundled.append(BundledEvent(event: event, leafIndex: Int(event.seq - view.firstSeq), path: path))
            }
            return .success((bundled, BrokerAPI.head(view, size: view.size)))
        }.get()
        let head = try signer.sign(proven.head)
        // The files: hashing the recording and writing the ZIP block, so on the thread pool.
        return try await NIOThreadPool.singleton.runIfActive {
            try writeFile(session: session, events: proven.events, head: head, includeRecording: includeRecording)
        }
    }

    /// Too many bundles are being written now.
    struct Busy: Error {}

    private func writeFile(
        session: SessionRecord,
        events bundled: [BundledEvent],
        head: TreeHead,
        includeRecording: Bool
    ) throws -> (path: String, bytes: Int) {
        let events = bundled.map(\.event)
        var entries: [(name: String, bytes: [UInt8])] = []
        entries.append((EvidenceBundleLayout.events, Array(try TandemJSON.makeEncoder().encode(BundledEvents(events: bundled)))))
        let key = signer.publicKey
        entries.append((EvidenceBundleLayout.publicKey, Array(key.pem.utf8)))

        var recording: EvidenceManifest.Recording?
        var recordingFile: (name: String, path: String, sha256: String, bytes: Int)?
        if let closed = events.last(where: { $0.kind == .recordingClosed }) {
            let name = EvidenceBundleLayout.recordingFolder + session.id + ".tdrec"
            let path = RecordingWriter.path(directory: recordings, sessionID: session.id)
            let onDisk = includeRecording && FileManager.default.fileExists(atPath: path)
            recording = EvidenceManifest.Recording(
                name: name,
                sha256: closed.detail["sha256"] ?? "",
                bytes: Int(closed.detail["bytes"] ?? "") ?? 0,
                included: onDisk
            )
            if onDisk {
                let (sha256, bytes) = try Self.hashFile(path)
                recordingFile = (name, path, sha256, bytes)
            }
        }

        var manifest = EvidenceManifest(
            sessionId: session.id,
            ticket: session.ticket,
            createdAt: head.at,
            eventCount: events.count,
            lastSeq: events.last?.seq ?? 0,
            treeHead: head,
            publicKey: key.raw,
            fingerprint: key.fingerprint,
            files: [],
            recording: recording
        )
        entries.append((EvidenceBundleLayout.summary, Array(EvidenceSummary.html(session: session, events: events, manifest: manifest).utf8)))
        manifest.files = entries.map { EvidenceManifest.File(name: $0.name, sha256: EvidenceVerifier.sha256Hex($0.bytes), bytes: $0.bytes.count) }
        if let recordingFile {
            manifest.files.append(EvidenceManifest.File(name: recordingFile.name, sha256: recordingFile.sha256, bytes: recordingFile.bytes))
        }
        manifest = try signer.sign(manifest)
        let manifestBytes = Array(try TandemJSON.makeEncoder().encode(manifest))

        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        removeOld()
        let path = directory + "/" + UUID().uuidString.lowercased() + ".zip"
        do {
            let archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .create)
            for (name, bytes) in [(EvidenceBundleLayout.manifest, manifestBytes)] + entries {
                let data = Data(bytes)
                try archive.addEntry(with: name, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate) { position, size in
                    data.subdata(in: Int(position)..<Int(position) + size)
                }
            }
            if let recordingFile {
                // Stored as it is: a recording is already compressed media.
                try archive.addEntry(with: recordingFile.name, fileURL: URL(fileURLWithPath: recordingFile.path), compressionMethod: .none)
            }
            guard let bytes = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue else {
                throw Refusal(description: "the bundle's file could not be read back")
            }
            return (path, bytes)
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
    }

    /// SHA-256 (hex) and length of a file, read 1 MiB at a time.
    static func hashFile(_ path: String) throws -> (String, Int) {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw Refusal(description: "cannot read the recording") }
        defer { try? handle.close() }
        var hasher = SHA256()
        var bytes = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
            bytes += chunk.count
        }
        return (hasher.finalize().lowercaseHex, bytes)
    }

    /// Removes bundles written more than ``keepFor`` ago.
    func removeOld() {
        let manager = FileManager.default
        let cutoff = Date().addingTimeInterval(-Self.keepFor)
        for name in (try? manager.contentsOfDirectory(atPath: directory)) ?? [] where name.hasSuffix(".zip") {
            let path = directory + "/" + name
            if let modified = try? manager.attributesOfItem(atPath: path)[.modificationDate] as? Date, modified < cutoff {
                try? manager.removeItem(atPath: path)
            }
        }
    }
}
