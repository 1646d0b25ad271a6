#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `manifest.json` of an evidence bundle (protocol/README.md §11.9): the broker's signed
/// statement of which events make up one session's record, in which signed tree, and
/// which files carry them.
public struct EvidenceManifest: Sendable, Equatable, Codable {
    /// `tandem-evidence/1`.
    public static let currentFormat = "tandem-evidence/1"

    /// A file of the bundle, by its name in the ZIP.
    public struct File: Sendable, Equatable, Codable {
        public var name: String
        /// Lower-case hex.
        public var sha256: String
        public var bytes: Int

        public init(name: String, sha256: String, bytes: Int) {
            self.name = name
            self.sha256 = sha256
            self.bytes = bytes
        }
    }

    /// The session's recording (§19), as its `recording.closed` event logged it.
    public struct Recording: Sendable, Equatable, Codable {
        /// `recording/SESSION.tdrec`; the entry exists only when `included`.
        public var name: String
        public var sha256: String
        public var bytes: Int
        /// False when it was left out (`--no-recording`).
        public var included: Bool

        public init(name: String, sha256: String, bytes: Int, included: Bool) {
            self.name = name
            self.sha256 = sha256
            self.bytes = bytes
            self.included = included
        }
    }

    public var format: String
    public var sessionId: String
    public var ticket: String
    public var createdAt: Date
    /// What is signed: `createdAt` in Unix milliseconds.
    public var createdAtMs: Int64
    public var eventCount: Int
    public var lastSeq: Int64
    public var treeHead: TreeHead
    /// Base64 of the raw Ed25519 key (§11.3).
    public var publicKey: String
    /// `SHA256:` and the hex of the raw key's SHA-256.
    public var fingerprint: String
    /// Every entry but `manifest.json`.
    public var files: [File]
    /// Nil when the session was not recorded.
    public var recording: Recording?
    /// Base64 of the Ed25519 signature over ``signedText``.
    public var signature: String

    public init(
        sessionId: String,
        ticket: String,
        createdAt: Date,
        eventCount: Int,
        lastSeq: Int64,
        treeHead: TreeHead,
        publicKey: String,
        fingerprint: String,
        files: [File],
        recording: Recording?,
        signature: String = ""
    ) {
        self.format = Self.currentFormat
        self.sessionId = sessionId
        self.ticket = ticket
        self.createdAt = createdAt
        self.createdAtMs = createdAt.epochMilliseconds
        self.eventCount = eventCount
        self.lastSeq = lastSeq
        self.treeHead = treeHead
        self.publicKey = publicKey
        self.fingerprint = fingerprint
        self.files = files
        self.recording = recording
        self.signature = signature
    }

    /// The lines joined by `\n`: the format, session id, ticket, createdAtMs, eventCount,
    /// lastSeq, the tree head's firstSeq, size and root, the SHA-256 of `events.json`, the
    /// recording's SHA-256 (empty without one), then one line `name sha256 bytes` per file.
    public var signedText: String {
        let eventsHash = files.first { $0.name == EvidenceBundleLayout.events }?.sha256 ?? ""
        return
            ([
                format, sessionId, ticket, String(createdAtMs), String(eventCount), String(lastSeq), String(treeHead.firstSeq),
                String(treeHead.size), treeHead.rootHash, eventsHash, recording?.sha256 ?? "",
            ] + files.map { "\($0.name) \($0.sha256) \($0.bytes)" }).joined(separator: "\n")
    }
}

/// The entries of an evidence bundle (§11.9).
public enum EvidenceBundleLayout {
    public static let manifest = "manifest.json"
    public static let events = "events.json"
    public static let publicKey = "public-key.pem"
    public static let summary = "summary.html"
    public static let recordingFolder = "recording/"
}

/// One event of a bundle: the event as §11.2 has it, and its inclusion proof in the
/// manifest's tree head.
public struct BundledEvent: Sendable, Equatable, Codable {
    public var event: AuditEvent
    public var leafIndex: Int
    /// Hex hashes, leaf to root (RFC 9162 §2.1.3.1).
    public var path: [String]

    public init(event: AuditEvent, leafIndex: Int, path: [String]) {
        self.event = event
        self.leafIndex = leafIndex
        self.path = path
    }

    enum CodingKeys: String, CodingKey {
        case leafIndex, path
    }

    public init(from decoder: any Decoder) throws {
        event = try AuditEvent(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        leafIndex = try container.decode(Int.self, forKey: .leafIndex)
        path = try container.decode([String].self, forKey: .path)
    }

    public func encode(to encoder: any Encoder) throws {
        try event.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(leafIndex, forKey: .leafIndex)
        try container.encode(path, forKey: .path)
    }
}

/// `events.json`.
public struct BundledEvents: Sendable, Equatable, Codable {
    public var events: [BundledEvent]

    public init(events: [BundledEvent]) {
        self.events = events
    }
}
