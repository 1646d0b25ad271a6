import Logging
import ServiceLifecycle
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Writes a signed checkpoint of the audit log every `interval` when events were added,
/// and a last one on graceful shutdown (after the sessions have ended). Each one, once
/// committed, is also kept outside the database in `head` (§11.7).
struct AuditCheckpointer: Service {
    let store: any TandemStore
    let signer: AuditSigner
    let head: AuditHeadFile
    let interval: Duration
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                await checkpoint(.periodic)
            }
        }
        await checkpoint(.shutdown)
    }

    private func checkpoint(_ kind: AuditCheckpoint.Kind) async {
        do {
            if let checkpoint = try await store.writeCheckpoint(kind: kind, actor: "broker", at: Date(), signer: signer, onlyIfNew: kind == .periodic)
            {
                logger.debug(
                    "Audit checkpoint written",
                    metadata: ["tandem.checkpoint": "\(checkpoint.id)", "tandem.audit.seq": "\(checkpoint.seq)"]
                )
                do {
                    try head.record(checkpoint)
                } catch {
                    logger.error("Could not keep the signed audit head outside the database", metadata: ["error": "\(error)"])
                }
            }
        } catch {
            logger.error("Could not write an audit checkpoint", metadata: ["error": "\(String(reflecting: type(of: error)))"])
        }
    }
}
