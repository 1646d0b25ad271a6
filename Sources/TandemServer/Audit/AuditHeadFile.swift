import Logging
import NIOConcurrencyHelpers
import TandemCore
import TandemProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The last checkpoint this broker signed, kept outside the database next to its signing
/// key (`DATA/audit-head.json`, mode 0600, replaced atomically), so that a database that is
/// behind it (an older copy, a lost WAL) is noticed (protocol/README.md §11.7): the broker
/// refuses to start on it and `tandem audit verify` reports `rolled-back`.
///
/// The file holds the checkpoint exactly as `GET /v1/audit/checkpoints` shows it (JSON,
/// signed), so anyone with the public key can check it.
public struct AuditHeadFile: Sendable {
    public let path: String
    private let lock = NIOLock()

    public init(directory: String) {
        self.path = directory + "/audit-head.json"
    }

    struct FileError: Error, CustomStringConvertible {
        let description: String
    }

    /// The kept checkpoint; nil when there is no file yet. Throws when the file is there but
    /// is not a checkpoint.
    public func load() throws -> AuditCheckpoint? {
        guard let data = FileManager.default.contents(atPath: path) else {
            if FileManager.default.fileExists(atPath: path) { throw FileError(description: "cannot read \(path)") }
            return nil
        }
        do {
            return try TandemJSON.makeDecoder().decode(AuditCheckpoint.self, from: data)
        } catch {
            throw FileError(description: "\(path) is not a signed audit checkpoint (damaged?)")
        }
    }

    /// Keeps `checkpoint`, unless the file already holds a later one; with `replacing`, always.
    public func record(_ checkpoint: AuditCheckpoint, replacing: Bool = false) throws {
        try lock.withLock {
            if !replacing, let current = try? load(), current.seq > checkpoint.seq { return }
            // Created 0600, synced, renamed over the old one: a crash leaves either, never a torn one.
            try PrivateFile.write(try TandemJSON.makeEncoder().encode(checkpoint), to: path)
        }
    }
}

extension AuditHeadFile {
    /// At start, before anything is written: refuses a log that is behind (or differs from)
    /// the kept checkpoint, naming both numbers, unless the operator accepts it
    /// (`serve --accept-rolled-back-log`): then `audit.rollback-accepted` is appended, a new
    /// checkpoint signed and kept. Without a kept checkpoint (first start, or a data directory
    /// from before this check), the log's last checkpoint by this key is kept.
    func checkAtStart(store: any TandemStore, signer: AuditSigner, acceptRollback: Bool, logger: Logger) async throws {
        let publicKey = signer.publicKey.raw
        let kept: AuditCheckpoint?
        var unreadable: String?
        do {
            kept = try load()
            if let kept, !AuditSigner.isValid(kept, publicKey: publicKey) {
                unreadable = "\(path) holds checkpoint #\(kept.id) (event #\(kept.seq)), but it is not signed by this broker's key"
            }
        } catch {
            kept = nil
            unreadable = "\(error)"
        }
        let override = "start with --accept-rolled-back-log to go on with this log; the loss is then recorded in it"
        if let unreadable {
            guard acceptRollback else {
                throw TandemBroker.Error(description: "Refusing to start: \(unreadable). Restore the file (or the data directory), or \(override).")
            }
            try await accept(detail: ["finding": "unreadable-head", "file": "audit-head.json"], store: store, signer: signer, logger: logger)
            return
        }
        guard let kept else {
            // Nothing kept yet: from now on, the log may not fall behind what it has signed.
            if let last = try await store.checkpoints().last, AuditSigner.isValid(last, publicKey: publicKey) {
                try record(last)
            }
            return
        }
        guard let rollback = try await store.rollback(behind: kept) else { return }
        guard acceptRollback else {
            throw TandemBroker.Error(
                description: "Refusing to start: \(rollback). Restore the database together with its -wal file, or \(override)."
            )
        }
        try await accept(detail: rollback.acceptedDetail, store: store, signer: signer, logger: logger)
    }

    private func accept(detail: [String: String], store: any TandemStore, signer: AuditSigner, logger: Logger) async throws {
        var detail = detail
        detail["override"] = "accept-rolled-back-log"
        try await store.recordEvent(sessionID: nil, kind: .auditRollbackAccepted, actor: "broker", detail: detail, at: Date())
        if let checkpoint = try await store.writeCheckpoint(kind: .periodic, actor: "broker", at: Date(), signer: signer, onlyIfNew: false) {
            try record(checkpoint, replacing: true)
        }
        logger.critical(
            "Started on an audit log behind what this broker had signed (--accept-rolled-back-log); recorded as audit.rollback-accepted",
            metadata: [
                "tandem.audit.finding": "\(detail["finding"] ?? "")",
                "tandem.audit.signed_seq": "\(detail["signedSeq"] ?? "-")",
                "tandem.audit.head_seq": "\(detail["headSeq"] ?? "-")",
            ]
        )
    }
}
