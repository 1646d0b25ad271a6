import Crypto
import Foundation
import TandemCore
import TandemProtocol
import ZIPFoundation

/// Writes one session's evidence bundle (protocol/README.md §11.9) as a ZIP file in
/// `directory`: its events with their inclusion proofs in one signed tree head, the
/// broker's key, a summary for people, the recording, and the signed manifest.
///
/// Files are written to `directory` and served from there; each write first removes the
/// bundles older than ``keepFor`` (a download in progress has them open; on Linux it goes on).
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

    /// The written file and its length.
    func write(session: SessionRecord, includeRecording: Bool, log: (firstSeq: Int64, size: Int)) async throws -> (path: String, bytes: Int) {
        let size = log.size
        let all = try await store.events(sessionID: session.id)
        if let first = all.first, first.seq < log.firstSeq {
            throw Refusal(description: "events of session \(session.id) before #\(log.firstSeq) were pruned (§11.6); no complete bundle can be made")
        }
        let events = all.filter { $0.seq < log.firstSeq + Int64(size) }
        guard !events.isEmpty else { throw Refusal(description: "session \(session.id) has no events in the log") }
        var bundled: [BundledEvent] = []
        for event in events {
            guard await tree.holds(seq: event.seq, hash: event.hash) else {
                throw Refusal(description: "event \(event.seq) is not in the log's tree as it was; run tandem audit verify")
            }
            let path = await tree.inclusionProof(seq: event.seq, size: size).map(\.lowercaseHex)
            bundled.append(BundledEvent(event: event, leafIndex: Int(event.seq - log.firstSeq), path: path))
        }
        let at = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let head = try signer.sign(TreeHead(firstSeq: log.firstSeq, size: size, rootHash: await tree.root(size: size).lowercaseHex, at: at))

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
            createdAt: at,
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
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
        let bytes = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
        return (path, bytes)
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
