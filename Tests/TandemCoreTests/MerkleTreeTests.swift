import Foundation
import TandemCore
import Testing

/// ``MerkleTree`` against protocol/vectors/merkle.json, made by the independent Python
/// encoder from RFC 9162's definitions (protocol/vectors/generate.py).
@Suite("MerkleTree (RFC 9162) against the vectors")
struct MerkleTreeTests {
    struct Inclusion: Decodable {
        var index: Int
        var size: Int
        var proof: [String]
    }

    struct Consistency: Decodable {
        var oldSize: Int
        var newSize: Int
        var proof: [String]
    }

    struct Root: Decodable {
        var size: Int
        var root: String
    }

    struct File: Decodable {
        var leafData: [String]
        var leafHashes: [String]
        var roots: [Root]
        var inclusion: [Inclusion]
        var consistency: [Consistency]
    }

    static let vectors: File = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("protocol/vectors/merkle.json")
        // The file is in the repository; a missing one fails every test below.
        return (try? JSONDecoder().decode(File.self, from: Data(contentsOf: url)))
            ?? File(leafData: [], leafHashes: [], roots: [], inclusion: [], consistency: [])
    }()

    var leaves: [MerkleTree.Hash] { Self.vectors.leafData.map { MerkleTree.leafHash(MerkleTree.bytes(hex: $0) ?? []) } }

    @Test("leaf hashes and the root of every size, 0 to 13")
    func roots() {
        #expect(Self.vectors.roots.count == 14)
        #expect(leaves.map(\.lowercaseHex) == Self.vectors.leafHashes)
        for root in Self.vectors.roots {
            #expect(MerkleTree.root(leaves[..<root.size]).lowercaseHex == root.root, "size \(root.size)")
        }
    }

    @Test("inclusion proofs are the vectors' and verify; a wrong index, root, leaf or proof does not")
    func inclusion() {
        #expect(Self.vectors.inclusion.count == 39)
        for vector in Self.vectors.inclusion {
            let proof = MerkleTree.inclusionProof(index: vector.index, leaves[..<vector.size])
            #expect(proof.map(\.lowercaseHex) == vector.proof, "\(vector.index) in \(vector.size)")
            let root = MerkleTree.root(leaves[..<vector.size])
            let leaf = leaves[vector.index]
            #expect(MerkleTree.verifyInclusion(leaf: leaf, index: vector.index, size: vector.size, proof: proof, root: root))
            #expect(!MerkleTree.verifyInclusion(leaf: leaf, index: vector.index, size: vector.size, proof: proof, root: MerkleTree.emptyRoot))
            #expect(!MerkleTree.verifyInclusion(leaf: MerkleTree.leafHash([9]), index: vector.index, size: vector.size, proof: proof, root: root))
            #expect(!MerkleTree.verifyInclusion(leaf: leaf, index: vector.size, size: vector.size, proof: proof, root: root))
            if vector.size > 1 {
                #expect(!MerkleTree.verifyInclusion(leaf: leaf, index: (vector.index + 1) % vector.size, size: vector.size, proof: proof, root: root))
                var bent = proof
                bent[0][0] ^= 1
                #expect(!MerkleTree.verifyInclusion(leaf: leaf, index: vector.index, size: vector.size, proof: bent, root: root))
                #expect(!MerkleTree.verifyInclusion(leaf: leaf, index: vector.index, size: vector.size, proof: Array(proof.dropLast()), root: root))
            }
        }
    }

    @Test("consistency proofs are the vectors' and verify; another old root, new root or a cut proof does not")
    func consistency() {
        #expect(Self.vectors.consistency.count == 32)
        for vector in Self.vectors.consistency {
            let proof = MerkleTree.consistencyProof(oldSize: vector.oldSize, leaves[..<vector.newSize])
            #expect(proof.map(\.lowercaseHex) == vector.proof, "\(vector.oldSize) → \(vector.newSize)")
            let old = MerkleTree.root(leaves[..<vector.oldSize])
            let new = MerkleTree.root(leaves[..<vector.newSize])
            #expect(MerkleTree.verifyConsistency(oldSize: vector.oldSize, newSize: vector.newSize, oldRoot: old, newRoot: new, proof: proof))
            #expect(!MerkleTree.verifyConsistency(oldSize: vector.oldSize, newSize: vector.newSize, oldRoot: new, newRoot: new, proof: proof))
            #expect(!MerkleTree.verifyConsistency(oldSize: vector.oldSize, newSize: vector.newSize, oldRoot: old, newRoot: old, proof: proof))
            #expect(
                !MerkleTree.verifyConsistency(
                    oldSize: vector.oldSize,
                    newSize: vector.newSize,
                    oldRoot: old,
                    newRoot: new,
                    proof: Array(proof.dropLast())
                )
            )
            // A rewritten history: the same size, one old leaf changed.
            var rewritten = leaves
            rewritten[0] = MerkleTree.leafHash([7])
            let forged = MerkleTree.root(rewritten[..<vector.oldSize])
            #expect(!MerkleTree.verifyConsistency(oldSize: vector.oldSize, newSize: vector.newSize, oldRoot: forged, newRoot: new, proof: proof))
        }
    }
}
