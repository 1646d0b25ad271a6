import TandemProtocol

extension AuditChain {
    /// Verifies the whole log: every checkpoint's signature (by `publicKey`, base64 raw
    /// Ed25519) and that ids run 1, 2, 3...; the hash chain from the latest prune anchor
    /// (or the genesis); and that every checkpoint still matches the event it covers, so
    /// a chain recomputed after an edit, or a log cut short, is caught. With `signedHead`
    /// (the last checkpoint this broker signed, kept outside the database, §11.7), a log
    /// that is behind it, or differs from it at its seq, is `rolled-back`.
    public static func verify(
        _ snapshot: AuditLogSnapshot,
        publicKey: String,
        fingerprint: String? = nil,
        signedHead: AuditCheckpoint? = nil
    ) -> AuditVerification {
        let checkpoints = snapshot.checkpoints
        let last = checkpoints.last
        func result(
            _ status: AuditVerification.Status,
            count: Int64,
            head: String? = nil,
            firstBad: Int64? = nil,
            _ message: String,
            unsigned: Int64 = 0,
            pruned: Int64? = nil
        ) -> AuditVerification {
            AuditVerification(
                status: status,
                count: count,
                headHash: head,
                firstBadSeq: firstBad,
                message: message,
                checkpoints: checkpoints.count,
                lastCheckpointSeq: last?.seq,
                lastCheckpointAt: last?.at,
                unsignedEvents: unsigned,
                prunedThroughSeq: pruned,
                publicKeyFingerprint: fingerprint,
                signedHeadSeq: signedHead?.seq
            )
        }

        // 1. The checkpoints themselves.
        for (index, checkpoint) in checkpoints.enumerated() {
            guard checkpoint.id == Int64(index + 1) else {
                return result(.badCheckpoint, count: 0, firstBad: checkpoint.seq, "checkpoint #\(index + 1) is missing")
            }
            guard AuditSigner.isValid(checkpoint, publicKey: publicKey) else {
                return result(.badCheckpoint, count: 0, firstBad: checkpoint.seq, "checkpoint #\(checkpoint.id) is not signed by this broker's key")
            }
        }

        if let signedHead, !AuditSigner.isValid(signedHead, publicKey: publicKey) {
            return result(
                .badCheckpoint,
                count: 0,
                firstBad: signedHead.seq,
                "the signed head kept in the data directory (checkpoint #\(signedHead.id), event #\(signedHead.seq)) is not signed by this broker's key"
            )
        }

        // 2. The chain, from the newest prune anchor.
        let anchor = checkpoints.pruneAnchor
        let events = snapshot.events.filter { $0.seq > (anchor?.seq ?? 0) }
        let count = Int64(events.count)
        if let unreadable = snapshot.unreadableSeq, unreadable > (anchor?.seq ?? 0) {
            return result(.altered, count: count, firstBad: unreadable, "event #\(unreadable) cannot be read", pruned: anchor?.seq)
        }
        let chain = verify(events, after: anchor)
        guard chain.status == .intact else {
            let message: String
            switch chain.status {
            case .deleted: message = "event #\(chain.firstBadSeq ?? 0) is missing"
            case .inserted: message = "event #\(chain.firstBadSeq ?? 0) does not follow the event before it (inserted or reordered)"
            default: message = "event #\(chain.firstBadSeq ?? 0) does not match its hash"
            }
            return result(chain.status, count: count, firstBad: chain.firstBadSeq, message, pruned: anchor?.seq)
        }

        // 3. Every checkpoint still matches the chain.
        let headSeq = events.last?.seq ?? anchor?.seq ?? 0
        let bySeq = Dictionary(events.map { ($0.seq, $0.hash) }, uniquingKeysWith: { first, _ in first })
        var lastGood = anchor?.seq ?? 0
        for checkpoint in checkpoints.sorted(by: { $0.seq < $1.seq }) where checkpoint.seq > (anchor?.seq ?? 0) {
            guard checkpoint.seq <= headSeq else {
                return result(
                    .truncated,
                    count: count,
                    firstBad: headSeq + 1,
                    "the log ends at event #\(headSeq) but checkpoint #\(checkpoint.id) signed events up to #\(checkpoint.seq)",
                    pruned: anchor?.seq
                )
            }
            guard bySeq[checkpoint.seq] == checkpoint.headHash else {
                return result(
                    .altered,
                    count: count,
                    firstBad: lastGood + 1,
                    "the chain was recomputed: event #\(checkpoint.seq) differs from checkpoint #\(checkpoint.id), so an event in #\(lastGood + 1)...#\(checkpoint.seq) was changed",
                    pruned: anchor?.seq
                )
            }
            lastGood = checkpoint.seq
        }

        // 3b. Every checkpoint's tree head (§11.10) is signed and is the tree of the log up
        // to the checkpoint's event. Heads from before a prune (another first seq) are left.
        if let firstSeq = events.first?.seq, checkpoints.contains(where: { $0.treeHead?.firstSeq == firstSeq }) {
            var tree = MerkleTreeCache()
            for event in events {
                guard let leaf = MerkleTree.leafHash(eventHash: event.hash) else {
                    return result(.altered, count: count, firstBad: event.seq, "event #\(event.seq) has no valid hash", pruned: anchor?.seq)
                }
                tree.append(leafHash: leaf)
            }
            for checkpoint in checkpoints {
                guard let head = checkpoint.treeHead, head.firstSeq == firstSeq else { continue }
                guard head.publicKey == publicKey, AuditSigner.isValid(head, publicKey: publicKey) else {
                    return result(
                        .badCheckpoint,
                        count: count,
                        firstBad: checkpoint.seq,
                        "the tree head of checkpoint #\(checkpoint.id) is not signed by this broker's key",
                        pruned: anchor?.seq
                    )
                }
                let size = Int(checkpoint.seq - firstSeq + 1)
                guard head.size == size, size <= tree.count, head.rootHash == tree.root(size: size).lowercaseHex else {
                    return result(
                        .badCheckpoint,
                        count: count,
                        firstBad: checkpoint.seq,
                        "the tree head of checkpoint #\(checkpoint.id) (\(head.size) events) is not the Merkle tree of the log up to event #\(checkpoint.seq)",
                        pruned: anchor?.seq
                    )
                }
            }
        }

        // 4. The log still holds what this broker signed last (kept outside the database).
        if let signedHead,
            let rollback = AuditRollback.check(
                signed: signedHead,
                headSeq: headSeq,
                hashAtSignedSeq: bySeq[signedHead.seq],
                prunedThrough: anchor
            )
        {
            var report = result(.rolledBack, count: count, firstBad: rollback.firstBadSeq, rollback.description, pruned: anchor?.seq)
            report.headSeq = headSeq
            return report
        }
        let unsigned = headSeq - max(last?.seq ?? 0, anchor?.seq ?? 0)
        return result(
            .intact,
            count: count,
            head: chain.headHash,
            "intact",
            unsigned: max(unsigned, 0),
            pruned: anchor?.seq
        )
    }
}

extension [AuditCheckpoint] {
    /// The newest prune's last removed event (its seq and hash): where the chain restarts.
    public var pruneAnchor: (seq: Int64, hash: String)? {
        filter { $0.kind == .prune }.compactMap { checkpoint -> (seq: Int64, hash: String)? in
            guard let seq = checkpoint.prunedThroughSeq, let hash = checkpoint.prunedThroughHash else { return nil }
            return (seq, hash)
        }.max { $0.seq < $1.seq }
    }
}
