import TandemCore
import Testing

@Suite("MerkleTreeCache gives the same roots and proofs as MerkleTree")
struct MerkleTreeCacheTests {
    static func leaves(_ count: Int) -> [MerkleTree.Hash] {
        (0..<count).map { i in MerkleTree.leafHash((0..<32).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ i &* 13) }) }
    }

    @Test("every size 0 to 40: root, every inclusion proof, every consistency proof")
    func matches() {
        let leaves = Self.leaves(40)
        var cache = MerkleTreeCache()
        #expect(cache.root(size: 0) == MerkleTree.emptyRoot)
        for (n, leaf) in leaves.enumerated() {
            cache.append(leafHash: leaf)
            let size = n + 1
            let prefix = leaves[..<size]
            #expect(cache.count == size)
            #expect(cache.leafHash(at: n) == leaf)
            #expect(cache.root(size: size) == MerkleTree.root(prefix))
            for index in 0..<size {
                #expect(cache.inclusionProof(index: index, size: size) == MerkleTree.inclusionProof(index: index, prefix))
            }
            for old in 1...size {
                #expect(cache.consistencyProof(oldSize: old, size: size) == MerkleTree.consistencyProof(oldSize: old, prefix))
            }
        }
        // Older sizes stay answerable after the tree grew.
        for size in [1, 5, 8, 13, 33, 40] {
            #expect(cache.root(size: size) == MerkleTree.root(leaves[..<size]))
            #expect(cache.inclusionProof(index: size - 1, size: size) == MerkleTree.inclusionProof(index: size - 1, leaves[..<size]))
        }
    }

    @Test("a proof from the cache verifies with RFC 9162's algorithm at 20,003 leaves")
    func large() {
        var cache = MerkleTreeCache()
        for leaf in Self.leaves(20_003) { cache.append(leafHash: leaf) }
        let root = cache.root(size: cache.count)
        for index in [0, 1, 16_383, 16_384, 19_999, 20_002] {
            let proof = cache.inclusionProof(index: index, size: cache.count)
            #expect(proof.count <= 15)
            #expect(MerkleTree.verifyInclusion(leaf: cache.leafHash(at: index), index: index, size: cache.count, proof: proof, root: root))
        }
        let consistency = cache.consistencyProof(oldSize: 17_777, size: cache.count)
        #expect(
            MerkleTree.verifyConsistency(oldSize: 17_777, newSize: cache.count, oldRoot: cache.root(size: 17_777), newRoot: root, proof: consistency)
        )
    }
}
