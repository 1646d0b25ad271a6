import Crypto
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Verifies an evidence bundle (protocol/README.md §11.9) offline, from its entries, with
/// the checks of the spec in their order: format, key, signature, files, events,
/// completeness, recording. Pure: the caller reads the ZIP.
public enum EvidenceVerifier {
    /// What a verification found.
    public struct Report: Sendable, Equatable {
        /// One line per check that held, in order (`ok format`, …).
        public var passed: [String] = []
        /// The first check that failed and why; nil when all held.
        public var failure: (check: String, reason: String)?
        /// The file is not a bundle at all (no manifest, not JSON): exit 2.
        public var notABundle = false

        public static func == (lhs: Report, rhs: Report) -> Bool {
            lhs.passed == rhs.passed && lhs.failure?.check == rhs.failure?.check && lhs.failure?.reason == rhs.failure?.reason
                && lhs.notABundle == rhs.notABundle
        }
    }

    private struct Failed: Error {
        let reason: String
    }

    /// A bundle's entries as a verifier sees them: every entry's SHA-256 and length, and the
    /// bytes of those the checks read (``readEntries``); a recording is hashed as it is read,
    /// never held.
    public struct Entries: Sendable {
        /// The entries whose bytes the checks need.
        public static let readEntries: Set<String> = [EvidenceBundleLayout.manifest, EvidenceBundleLayout.events, EvidenceBundleLayout.publicKey]

        public var digests: [String: (sha256: String, bytes: Int)] = [:]
        public var contents: [String: [UInt8]] = [:]

        public init() {}

        /// From whole entries (name → bytes).
        public init(_ entries: [String: [UInt8]]) {
            for (name, bytes) in entries {
                digests[name] = (EvidenceVerifier.sha256Hex(bytes), bytes.count)
                if Self.readEntries.contains(name) { contents[name] = bytes }
            }
        }
    }

    /// Verifies `entries` (name → bytes, every entry of the ZIP). With `expectedKey` (base64
    /// raw Ed25519), the bundle must be signed by that key.
    public static func verify(entries: [String: [UInt8]], expectedKey: String? = nil) -> Report {
        verify(Entries(entries), expectedKey: expectedKey)
    }

    /// Verifies a bundle's `entries`. With `expectedKey` (base64 raw Ed25519), the bundle
    /// must be signed by that key.
    public static func verify(_ entries: Entries, expectedKey: String? = nil) -> Report {
        var report = Report()
        guard let manifestBytes = entries.contents[EvidenceBundleLayout.manifest] else {
            report.notABundle = true
            report.failure = ("format", "no \(EvidenceBundleLayout.manifest): not a Tandem evidence bundle")
            return report
        }
        let manifest: EvidenceManifest
        do {
            manifest = try TandemJSON.makeDecoder().decode(EvidenceManifest.self, from: Data(manifestBytes))
        } catch {
            report.notABundle = true
            report.failure = ("format", "\(EvidenceBundleLayout.manifest) is not a tandem-evidence manifest")
            return report
        }
        var events: [BundledEvent] = []
        let steps: [(String, () throws -> String)] = [
            ("format", { try format(manifest) }),
            ("key", { try key(manifest, entries: entries, expectedKey: expectedKey) }),
            ("signature", { try signatures(manifest) }),
            ("files", { try files(manifest, entries: entries) }),
            (
                "events",
                {
                    events = try readEvents(entries)
                    return try proofs(events, manifest: manifest)
                }
            ),
            ("completeness", { try completeness(events, manifest: manifest) }),
            ("recording", { try recording(events, manifest: manifest, entries: entries) }),
        ]
        for (name, step) in steps {
            do {
                report.passed.append(try step())
            } catch let failed as Failed {
                report.failure = (name, failed.reason)
                return report
            } catch {
                report.failure = (name, "\(error)")
                return report
            }
        }
        return report
    }

    private static func need(_ condition: Bool, _ reason: @autoclosure () -> String) throws {
        if !condition { throw Failed(reason: reason()) }
    }

    public static func sha256Hex(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).lowercaseHex
    }

    private static func format(_ manifest: EvidenceManifest) throws -> String {
        try need(manifest.format == EvidenceManifest.currentFormat, "the format is \(manifest.format), not \(EvidenceManifest.currentFormat)")
        return "ok format"
    }

    /// The raw key of an Ed25519 SubjectPublicKeyInfo PEM, base64; nil when it is not one.
    public static func rawKey(pem: String) -> String? {
        let body = pem.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----") }.joined()
        guard let der = Data(base64Encoded: body), der.count == 44 else { return nil }
        guard der.prefix(12) == AuditSigner.ed25519KeyInfoPrefix else { return nil }
        return der.suffix(32).base64EncodedString()
    }

    private static func key(_ manifest: EvidenceManifest, entries: Entries, expectedKey: String?) throws -> String {
        guard let raw = Data(base64Encoded: manifest.publicKey), raw.count == 32 else {
            throw Failed(reason: "the manifest's publicKey is not a raw Ed25519 key")
        }
        let fingerprint = AuditSigner.describe(raw).fingerprint
        if let expectedKey {
            try need(
                manifest.publicKey == expectedKey,
                "signed by the key \(fingerprint), not by the one given (\(Data(base64Encoded: expectedKey).map { AuditSigner.describe($0).fingerprint } ?? "?"))"
            )
        }
        let embedded = entries.contents[EvidenceBundleLayout.publicKey].flatMap { rawKey(pem: String(decoding: $0, as: UTF8.self)) }
        try need(embedded == manifest.publicKey, "\(EvidenceBundleLayout.publicKey) is missing or is another key than the manifest's")
        try need(manifest.treeHead.publicKey == manifest.publicKey, "the tree head names another key than the manifest")
        try need(manifest.fingerprint == fingerprint, "the manifest's fingerprint is not \(fingerprint)")
        return "ok key (fingerprint \(fingerprint))"
    }

    private static func signatures(_ manifest: EvidenceManifest) throws -> String {
        try need(AuditSigner.isValid(manifest.treeHead, publicKey: manifest.publicKey), "the tree head's signature is not valid for this key")
        try need(
            AuditSigner.isValid(signature: manifest.signature, by: manifest.publicKey, over: manifest.signedText, expectedKey: manifest.publicKey),
            "the manifest's signature is not valid for this key"
        )
        return "ok signature"
    }

    private static func files(_ manifest: EvidenceManifest, entries: Entries) throws -> String {
        let listed = Set(manifest.files.map(\.name))
        try need(listed.count == manifest.files.count, "a file is listed twice")
        for file in manifest.files {
            guard let digest = entries.digests[file.name] else { throw Failed(reason: "\(file.name) is listed but missing") }
            try need(
                digest.bytes == file.bytes && digest.sha256 == file.sha256,
                "\(file.name) is not the file the manifest lists (SHA-256 or length)"
            )
        }
        for name in entries.digests.keys where name != EvidenceBundleLayout.manifest && !name.hasSuffix("/") {
            try need(listed.contains(name), "\(name) is in the bundle but not in the manifest")
        }
        for name in [EvidenceBundleLayout.events, EvidenceBundleLayout.publicKey, EvidenceBundleLayout.summary] {
            try need(listed.contains(name), "\(name) is not in the bundle")
        }
        return "ok files"
    }

    private static func readEvents(_ entries: Entries) throws -> [BundledEvent] {
        guard let bytes = entries.contents[EvidenceBundleLayout.events] else { throw Failed(reason: "no \(EvidenceBundleLayout.events)") }
        do {
            return try TandemJSON.makeDecoder().decode(BundledEvents.self, from: Data(bytes)).events
        } catch {
            throw Failed(reason: "\(EvidenceBundleLayout.events) is not a list of events")
        }
    }

    private static func proofs(_ events: [BundledEvent], manifest: EvidenceManifest) throws -> String {
        let head = manifest.treeHead
        guard let root = MerkleTree.bytes(hex: head.rootHash), root.count == 32 else { throw Failed(reason: "the tree head's root is not hex") }
        var previous: Int64 = .min
        for bundled in events {
            let event = bundled.event
            try need(event.seq > previous, "event \(event.seq) comes after event \(previous): the seqs do not rise")
            previous = event.seq
            try need(AuditChain.hash(of: event) == event.hash, "event \(event.seq) does not match its hash (altered)")
            try need(event.sessionID == manifest.sessionId, "event \(event.seq) belongs to another session (\(event.sessionID ?? "none"))")
            try need(
                Int64(bundled.leafIndex) == event.seq - head.firstSeq,
                "event \(event.seq) has leafIndex \(bundled.leafIndex), not seq − firstSeq"
            )
            let path = bundled.path.compactMap(MerkleTree.bytes(hex:))
            guard path.count == bundled.path.count, let leaf = MerkleTree.leafHash(eventHash: event.hash) else {
                throw Failed(reason: "event \(event.seq)'s proof is not hex")
            }
            try need(
                MerkleTree.verifyInclusion(leaf: leaf, index: bundled.leafIndex, size: head.size, proof: path, root: root),
                "event \(event.seq)'s proof does not lead to the tree head's root"
            )
        }
        return "ok events (\(events.count), each proven in the tree of \(head.size))"
    }

    private static func completeness(_ events: [BundledEvent], manifest: EvidenceManifest) throws -> String {
        try need(!events.isEmpty, "the bundle holds no event")
        let legacy = events.filter { $0.event.sessionSeq == nil }
        try need(
            legacy.isEmpty,
            "not provable for events logged before sessionSeq existed (\(legacy.count) of them, seq \(legacy.first?.event.seq ?? 0)–\(legacy.last?.event.seq ?? 0))"
        )
        for (index, bundled) in events.enumerated() {
            try need(
                bundled.event.detail[AuditEvent.sessionSeqKey] == String(index + 1),
                "event \(bundled.event.seq) has sessionSeq \(bundled.event.detail[AuditEvent.sessionSeqKey] ?? "-"), not \(index + 1): an event of the session is missing"
            )
        }
        try need(events.count == manifest.eventCount, "the bundle holds \(events.count) events, the manifest signs \(manifest.eventCount)")
        try need(
            events.last?.event.seq == manifest.lastSeq,
            "the last event is \(events.last?.event.seq ?? 0), the manifest signs \(manifest.lastSeq)"
        )
        try need(manifest.lastSeq < manifest.treeHead.firstSeq + Int64(manifest.treeHead.size), "the last event is not in the tree head")
        return "ok completeness (sessionSeq 1-\(events.count))"
    }

    private static func recording(_ events: [BundledEvent], manifest: EvidenceManifest, entries: Entries) throws -> String {
        let closed = events.last { $0.event.kind == .recordingClosed }?.event
        guard let recording = manifest.recording else {
            try need(closed == nil, "the session was recorded (event \(closed?.seq ?? 0)) but the manifest says it was not")
            return "ok recording: none"
        }
        guard let closed else { throw Failed(reason: "the manifest lists a recording but no recording.closed event is in the bundle") }
        try need(
            closed.detail["sha256"] == recording.sha256 && closed.detail["bytes"] == String(recording.bytes),
            "the manifest's recording is not the one event \(closed.seq) logged"
        )
        guard recording.included else {
            try need(entries.digests[recording.name] == nil, "the recording is marked left out but is in the bundle")
            return "ok recording: left out of the bundle"
        }
        try need(recording.name.hasPrefix(EvidenceBundleLayout.recordingFolder), "the recording is not under recording/")
        guard let digest = entries.digests[recording.name] else { throw Failed(reason: "\(recording.name) is missing") }
        try need(
            digest.bytes == recording.bytes && digest.sha256 == recording.sha256,
            "\(recording.name) is not the recording event \(closed.seq) logged (SHA-256 or length): swapped or changed"
        )
        return "ok recording (\(recording.name), \(recording.bytes) bytes, SHA-256 as logged by event #\(closed.seq))"
    }
}
