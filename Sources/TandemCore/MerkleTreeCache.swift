/// The Merkle tree of §11.8 kept as it grows: the hash of every complete subtree, so that a
/// root, an inclusion proof or a consistency proof for any size up to ``count`` costs
/// O(log² n) hashes instead of hashing all n leaves again.
///
/// Level l holds the roots of the subtrees of 2^l leaves that are complete, in order; leaf
/// i is at level 0, index i. Every subtree the RFC 9162 definitions split a tree into is
/// either such a complete, aligned one or splits further, so each is found or built from
/// them. Memory: 32 bytes per leaf at level 0 and as much again for the levels above
/// (about 64 MB per million events).
public struct MerkleTreeCache: Sendable {
    public typealias Hash = MerkleTree.Hash

    private var levels: [[UInt8]] = [[]]
    /// The number of leaves.
    public private(set) var count = 0

    public init() {}

    /// Adds the next leaf (its leaf hash, §11.8) and the subtrees it completes.
    public mutating func append(leafHash: Hash) {
        precondition(leafHash.count == 32, "a leaf hash is 32 bytes")
        levels[0].append(contentsOf: leafHash)
        count += 1
        var level = 0
        var completed = count
        while completed & 1 == 0 {
            let nodes = levels[level]
            let end = nodes.count
            let parent = MerkleTree.nodeHash(Array(nodes[(end - 64)..<(end - 32)]), Array(nodes[(end - 32)..<end]))
            if levels.count == level + 1 { levels.append([]) }
            levels[level + 1].append(contentsOf: parent)
            level += 1
            completed >>= 1
        }
    }

    /// The leaf hash of leaf `index`.
    public func leafHash(at index: Int) -> Hash {
        node(level: 0, index: index)
    }

    /// MTH of the first `size` leaves (size ≤ count).
    public func root(size: Int) -> Hash {
        precondition(size >= 0 && size <= count)
        return size == 0 ? MerkleTree.emptyRoot : subtreeRoot(start: 0, size: size)
    }

    /// PATH(index, D[size]) (RFC 9162 §2.1.3.1).
    public func inclusionProof(index: Int, size: Int) -> [Hash] {
        precondition(index >= 0 && index < size && size <= count)
        var proof: [Hash] = []
        path(index, start: 0, size: size, into: &proof)
        return proof
    }

    /// PROOF(oldSize, D[size]) (RFC 9162 §2.1.4.1).
    public func consistencyProof(oldSize: Int, size: Int) -> [Hash] {
        precondition(oldSize >= 0 && oldSize <= size && size <= count)
        guard oldSize > 0, oldSize < size else { return [] }
        var proof: [Hash] = []
        subproof(oldSize, start: 0, size: size, complete: true, into: &proof)
        return proof
    }

    private func node(level: Int, index: Int) -> Hash {
        let offset = index * 32
        return Array(levels[level][offset..<(offset + 32)])
    }

    /// MTH of leaves `start ..< start + size`, where `start` is a multiple of the largest
    /// power of two ≤ size (always so for the subtrees of the RFC's definitions).
    private func subtreeRoot(start: Int, size: Int) -> Hash {
        if size & (size - 1) == 0 {
            let level = size.trailingZeroBitCount
            return node(level: level, index: start >> level)
        }
        let k = MerkleTree.split(size)
        return MerkleTree.nodeHash(subtreeRoot(start: start, size: k), subtreeRoot(start: start + k, size: size - k))
    }

    private func path(_ m: Int, start: Int, size: Int, into proof: inout [Hash]) {
        guard size > 1 else { return }
        let k = MerkleTree.split(size)
        if m < k {
            path(m, start: start, size: k, into: &proof)
            proof.append(subtreeRoot(start: start + k, size: size - k))
        } else {
            path(m - k, start: start + k, size: size - k, into: &proof)
            proof.append(subtreeRoot(start: start, size: k))
        }
    }

    private func subproof(_ m: Int, start: Int, size: Int, complete: Bool, into proof: inout [Hash]) {
        if m == size {
            if !complete { proof.append(subtreeRoot(start: start, size: size)) }
            return
        }
        let k = MerkleTree.split(size)
        if m <= k {
            subproof(m, start: start, size: k, complete: complete, into: &proof)
            proof.append(subtreeRoot(start: start + k, size: size - k))
        } else {
            subproof(m - k, start: start + k, size: size - k, complete: false, into: &proof)
            proof.append(subtreeRoot(start: start, size: k))
        }
    }
}
