import Foundation
import TandemClient
import TandemCore
import TandemProtocol
import Testing

/// The audit log as a Merkle tree (protocol/README.md §11.8), against a real broker.
@Suite("Live TLS broker: signed tree heads, inclusion and consistency proofs (§11.8)", .timeLimit(.minutes(2)))
struct AuditProofTests {
    static func verify(_ proof: InclusionProof) -> Bool {
        guard let leaf = MerkleTree.leafHash(eventHash: proof.eventHash), let root = MerkleTree.bytes(hex: proof.treeHead.rootHash) else {
            return false
        }
        let path = proof.path.compactMap(MerkleTree.bytes(hex:))
        return path.count == proof.path.count
            && MerkleTree.verifyInclusion(leaf: leaf, index: proof.leafIndex, size: proof.treeHead.size, proof: path, root: root)
    }

    @Test(
        "every event has an inclusion proof in a signed head; an old head is consistent with the new one; after a rewritten event the broker signs nothing"
    )
    func proofs() async throws {
        try await LiveBroker.run { broker in
            let audrey = try await broker.addUser("audrey", role: .auditor)
            let alice = try await broker.addUser("alice", role: .agent)
            let key = try await broker.api(audrey) { try await $0.auditPublicKey() }
            _ = try await broker.addUser("bob", role: .agent)
            let old = try await broker.api(audrey) { try await $0.treeHead() }
            #expect(old.size == 3)
            #expect(AuditSigner.isValid(old, publicKey: key.raw))
            var forgedHead = old
            forgedHead.size += 1
            #expect(!AuditSigner.isValid(forgedHead, publicKey: key.raw))

            // More events: a session, its end.
            let agent = LiveParticipant.connect(broker, hello: .agent(token: alice, start: .init(ticket: "HD-P1", mode: .screen)))
            try await agent.waitFor("session.created") { if case .sessionCreated(let c) = $0 { c } else { nil } }
            try await agent.send(.sessionEnd(SessionEnd(outcome: .resolved)))
            try await agent.waitFor("session.ended") { if case .sessionEnded(let e) = $0 { e } else { nil } }
            let events = try await broker.store.auditEvents(since: nil, until: nil, limit: 1000)
            #expect(events.count >= 5)
            let head = try await broker.api(audrey) { try await $0.treeHead() }
            #expect(head.size == events.count)
            for event in events {
                let proof = try await broker.api(audrey) { try await $0.inclusionProof(seq: event.seq) }
                #expect(proof.eventHash == event.hash)
                #expect(Self.verify(proof), "event \(event.seq)")
                #expect(AuditSigner.isValid(proof.treeHead, publicKey: key.raw))
            }
            // In the old, smaller tree too.
            let early = try await broker.api(audrey) { try await $0.inclusionProof(seq: events[1].seq, size: old.size) }
            #expect(early.treeHead.rootHash == old.rootHash)
            #expect(Self.verify(early))
            // The kept old head is a prefix of the new one.
            let consistency = try await broker.api(audrey) { try await $0.consistencyProof(from: old.size) }
            let path = consistency.path.compactMap(MerkleTree.bytes(hex:))
            let oldRoot = try #require(MerkleTree.bytes(hex: old.rootHash))
            let newRoot = try #require(MerkleTree.bytes(hex: consistency.treeHead.rootHash))
            #expect(
                MerkleTree.verifyConsistency(oldSize: old.size, newSize: consistency.treeHead.size, oldRoot: oldRoot, newRoot: newRoot, proof: path)
            )

            // Someone with the database rewrites the second event (and its hash): the log's
            // proofs now disagree with the head the auditor kept.
            let forged = String(repeating: "ab", count: 32)
            let sql = "UPDATE audit_events SET hash = '\(forged)' WHERE seq = \(events[1].seq)"
            let script = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()"
            let tampered = try await ChildProcess.run(["python3", "-c", script, broker.directory + "/tandem.sqlite", sql])
            #expect(tampered.status == 0)
            // The broker keeps the tree in memory; asking for the rewritten event's proof
            // shows it another hash than the tree holds: it reads the log again, finds an
            // event that does not match its hash, and signs nothing (409) until it does.
            let refusedProof = try await broker.refusal(audrey) { client in _ = try await client.inclusionProof(seq: events[1].seq) }?.status
            #expect(refusedProof == 409)
            let refusedConsistency = try await broker.refusal(audrey) { client in _ = try await client.consistencyProof(from: old.size) }?.status
            #expect(refusedConsistency == 409)
            // Refusals.
            let missing = try await broker.api(audrey) { client in try? await client.inclusionProof(seq: 999_999) }
            #expect(missing == nil)
            let agentRefused = try await broker.api(alice) { client in try? await client.treeHead() }
            #expect(agentRefused == nil)
        }
    }

    @Test("the broker signs no tree head over a log that no longer matches its signed checkpoint (409)")
    func noHeadOverAChangedLog() async throws {
        try await LiveBroker.run(configure: { $0.checkpointInterval = .seconds(1) }) { broker in
            let audrey = try await broker.addUser("audrey", role: .auditor)
            _ = try await broker.addUser("bob", role: .agent)
            var checkpoint: AuditCheckpoint?
            for _ in 0..<100 where checkpoint == nil {
                checkpoint = try await broker.store.checkpoints().last { $0.seq >= 2 }
                try await Task.sleep(for: .milliseconds(100))
            }
            let signed = try #require(checkpoint)
            #expect(try await broker.api(audrey) { try await $0.treeHead() }.size >= 2)
            let sql = "UPDATE audit_events SET hash = '\(String(repeating: "cd", count: 32))' WHERE seq = \(signed.seq)"
            let script = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()"
            #expect(try await ChildProcess.run(["python3", "-c", script, broker.directory + "/tandem.sqlite", sql]).status == 0)
            let refused = try await broker.api(audrey) { client -> String? in
                do {
                    _ = try await client.treeHead()
                    return nil
                } catch {
                    return "\(error)"
                }
            }
            #expect(refused?.contains("409") == true || refused?.contains("checkpoint") == true, "\(refused ?? "signed")")
        }
    }
}
