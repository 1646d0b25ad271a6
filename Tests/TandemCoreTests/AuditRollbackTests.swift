import Foundation
import TandemCore
import TandemProtocol
import Testing

/// The rollback check (protocol/README.md §11.7): a log behind the checkpoint the broker
/// keeps outside the database, or different from it at its seq.
@Suite("Audit log rolled back behind the kept signed head")
struct AuditRollbackTests {
    let signer = AuditSigner()

    /// A valid chain of `count` events; `salt` changes their content (a rewritten log).
    func chain(_ count: Int, salt: String = "") -> [AuditEvent] {
        var events: [AuditEvent] = []
        var previous = AuditChain.genesis
        for seq in Int64(1)...Int64(count) {
            let at = Date(epochMilliseconds: 1_800_000_000_000 + seq * 1000)
            let detail = ["n": "\(seq)\(seq > 3 ? salt : "")"]
            let hash = AuditChain.hash(seq: seq, at: at, sessionID: nil, kind: "test.event", actor: "broker", detail: detail, previousHash: previous)
            events.append(
                AuditEvent(seq: seq, at: at, sessionID: nil, kind: "test.event", actor: "broker", detail: detail, previousHash: previous, hash: hash)
            )
            previous = hash
        }
        return events
    }

    func checkpoint(id: Int64, of events: [AuditEvent], at seq: Int64) throws -> AuditCheckpoint {
        let event = try #require(events.first { $0.seq == seq })
        return try signer.sign(
            AuditCheckpoint(id: id, at: Date(epochMilliseconds: 1_800_000_100_000), kind: .periodic, seq: seq, headHash: event.hash, actor: "broker")
        )
    }

    @Test("the pure check, step by step: whole, behind, rewritten, pruned, empty")
    func check() throws {
        let events = chain(8)
        let signed = try checkpoint(id: 2, of: events, at: 6)
        // The log holds event #6 with the signed hash, and more after it.
        #expect(AuditRollback.check(signed: signed, headSeq: 8, hashAtSignedSeq: events[5].hash, prunedThrough: nil) == nil)
        // An older copy ending at #4.
        let behind = AuditRollback.check(signed: signed, headSeq: 4, hashAtSignedSeq: nil, prunedThrough: nil)
        #expect(behind?.kind == .behind)
        #expect(behind?.firstBadSeq == 5)
        #expect(behind?.description.contains("#4") == true)
        #expect(behind?.description.contains("#6") == true)
        // Rolled back and written again: #6 exists with another hash.
        let rewritten = AuditRollback.check(signed: signed, headSeq: 9, hashAtSignedSeq: chain(8, salt: "x")[5].hash, prunedThrough: nil)
        #expect(rewritten?.kind == .rewritten)
        #expect(rewritten?.firstBadSeq == 6)
        // A signed prune removed #6: nothing to compare, nothing lost.
        #expect(AuditRollback.check(signed: signed, headSeq: 9, hashAtSignedSeq: nil, prunedThrough: (7, events[6].hash)) == nil)
        // The prune anchor is #6 itself: its hash is compared.
        #expect(AuditRollback.check(signed: signed, headSeq: 9, hashAtSignedSeq: nil, prunedThrough: (6, events[5].hash)) == nil)
        #expect(
            AuditRollback.check(signed: signed, headSeq: 9, hashAtSignedSeq: nil, prunedThrough: (6, String(repeating: "f", count: 64)))?.kind
                == .rewritten
        )
        // A signed empty log: nothing can be lost.
        let empty = try signer.sign(AuditCheckpoint(id: 1, at: Date(), kind: .shutdown, seq: 0, headHash: AuditChain.genesis, actor: "broker"))
        #expect(AuditRollback.check(signed: empty, headSeq: 0, hashAtSignedSeq: nil, prunedThrough: nil) == nil)
        // The override's event names both numbers and the lost head.
        #expect(behind?.acceptedDetail["signedSeq"] == "6")
        #expect(behind?.acceptedDetail["headSeq"] == "4")
        #expect(behind?.acceptedDetail["signedHash"] == events[5].hash)
    }

    @Test("verify: an older copy that verifies on its own is rolled-back against the kept head, with both numbers")
    func verify() throws {
        let events = chain(8)
        let first = try checkpoint(id: 1, of: events, at: 4)
        let kept = try checkpoint(id: 2, of: events, at: 8)
        let key = signer.publicKey.raw
        // The whole log, with the kept head: intact, and the report carries the kept seq.
        let whole = AuditChain.verify(AuditLogSnapshot(events: events, checkpoints: [first, kept]), publicKey: key, signedHead: kept)
        #expect(whole.status == .intact)
        #expect(whole.signedHeadSeq == 8)
        // The copy from before checkpoint #2: intact on its own...
        let older = AuditLogSnapshot(events: Array(events.prefix(5)), checkpoints: [first])
        #expect(AuditChain.verify(older, publicKey: key).status == .intact)
        // ...rolled back against the kept head.
        let report = AuditChain.verify(older, publicKey: key, signedHead: kept)
        #expect(report.status == .rolledBack)
        #expect(report.signedHeadSeq == 8)
        #expect(report.headSeq == 5)
        #expect(report.firstBadSeq == 6)
        #expect(report.message?.contains("#5") == true)
        #expect(report.message?.contains("#8") == true)
        // Rolled back to #5 and written again up to #9: other hashes from #4 on.
        let again = chain(9, salt: "again")
        // Checkpoint #1 covered #4, which changed too: signed again, as a broker on the rewritten log would.
        let againFirst = try checkpoint(id: 1, of: again, at: 4)
        #expect(AuditChain.verify(AuditLogSnapshot(events: again, checkpoints: [againFirst]), publicKey: key).status == .intact)
        let rewritten = AuditChain.verify(AuditLogSnapshot(events: again, checkpoints: [againFirst]), publicKey: key, signedHead: kept)
        #expect(rewritten.status == .rolledBack)
        #expect(rewritten.firstBadSeq == 8)
        // A kept head signed by another key is not trusted.
        let foreign = try AuditSigner().sign(AuditCheckpoint(id: 2, at: Date(), kind: .periodic, seq: 8, headHash: events[7].hash, actor: "broker"))
        #expect(
            AuditChain.verify(AuditLogSnapshot(events: events, checkpoints: [first, kept]), publicKey: key, signedHead: foreign).status
                == .badCheckpoint
        )
    }
}
