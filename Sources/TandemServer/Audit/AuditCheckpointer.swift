import AsyncHTTPClient
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
/// committed, is also kept outside the database in `head` (§11.7), and commits to the
/// Merkle tree: its signed tree head is kept with it and published by `anchors` (§11.10).
struct AuditCheckpointer: Service {
    let store: any TandemStore
    let signer: AuditSigner
    let head: AuditHeadFile
    let tree: AuditTree
    let anchors: AuditAnchors
    let interval: Duration
    let logger: Logger

    func run() async throws {
        let client = anchors.configuration.webhooks.isEmpty ? nil : HTTPClient(eventLoopGroupProvider: .singleton)
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                await checkpoint(.periodic, client: client)
            }
        }
        await checkpoint(.shutdown, client: client)
        try? await client?.shutdown()
    }

    private func checkpoint(_ kind: AuditCheckpoint.Kind, client: HTTPClient?) async {
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
                await commitTree(to: checkpoint, client: client)
            }
        } catch {
            logger.error("Could not write an audit checkpoint", metadata: ["error": "\(String(reflecting: type(of: error)))"])
        }
    }

    /// Signs the head of the tree of the log up to `checkpoint`'s event, keeps it with the
    /// checkpoint and publishes it. The tree is first checked against the whole log: a head
    /// is a statement about the database as it is.
    private func commitTree(to checkpoint: AuditCheckpoint, client: HTTPClient?) async {
        // An empty log has no tree to sign.
        guard checkpoint.seq > 0 else { return }
        do {
            try await tree.revalidate()
            let head = try await tree.read { view -> TreeHead? in
                guard view.size > 0, checkpoint.seq >= view.firstSeq else { return nil }
                let size = Int(checkpoint.seq - view.firstSeq + 1)
                guard size <= view.size, view.holds(seq: checkpoint.seq, hash: checkpoint.headHash) else { return nil }
                return BrokerAPI.head(view, size: size)
            }
            guard let head else {
                logger.error(
                    "The audit log does not hold checkpoint \(checkpoint.id)'s event; no tree head signed",
                    metadata: ["tandem.audit.seq": "\(checkpoint.seq)"]
                )
                return
            }
            let signed = try signer.sign(head)
            try await store.attachTreeHead(signed, checkpointID: checkpoint.id)
            await anchors.publish(signed, client: client)
        } catch {
            logger.error("Could not sign the checkpoint's tree head", metadata: ["error": "\(error)"])
        }
    }
}
