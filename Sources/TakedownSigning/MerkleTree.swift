import Crypto
import Foundation

/// The Merkle tree of RFC 9162 §2.1 over a log's entries: hashes, inclusion and consistency proofs, and
/// their verification. Pure code over leaf hashes; where the hashes come from (the store, tiles) is the
/// caller's business.
///
/// Written here rather than taken from a package: none of the packages this machine mirrors implements
/// RFC 9162's proofs in Swift. The known answers in the tests are the certificate-transparency test vectors.
public enum MerkleTree {
    /// The hash of a leaf: SHA-256(0x00 || entry).
    public static func leafHash(_ entry: some DataProtocol) -> Data {
        var hasher = SHA256()
        hasher.update(data: [0x00])
        hasher.update(data: entry)
        return Data(hasher.finalize())
    }

    /// The hash of an interior node: SHA-256(0x01 || left || right).
    public static func nodeHash(_ left: Data, _ right: Data) -> Data {
        var hasher = SHA256()
        hasher.update(data: [0x01])
        hasher.update(data: left)
        hasher.update(data: right)
        return Data(hasher.finalize())
    }

    /// MTH(D[n]) from the leaves' hashes; the hash of the empty string for an empty tree.
    public static func rootHash(_ leaves: ArraySlice<Data>) -> Data {
        switch leaves.count {
        case 0: return Data(SHA256.hash(data: Data()))
        case 1: return leaves[leaves.startIndex]
        default:
            let k = split(leaves.count)
            let middle = leaves.startIndex + k
            return nodeHash(rootHash(leaves[leaves.startIndex..<middle]), rootHash(leaves[middle...]))
        }
    }

    public static func rootHash(_ leaves: [Data]) -> Data { rootHash(leaves[...]) }

    /// PATH(m, D[n]): the inclusion proof of leaf `index` in the tree of `leaves`, leaf side first.
    public static func inclusionProof(index: Int, _ leaves: ArraySlice<Data>) -> [Data] {
        precondition(index >= 0 && index < leaves.count, "leaf \(index) is not in a tree of \(leaves.count)")
        guard leaves.count > 1 else { return [] }
        let k = split(leaves.count)
        let middle = leaves.startIndex + k
        if index < k {
            return inclusionProof(index: index, leaves[leaves.startIndex..<middle]) + [rootHash(leaves[middle...])]
        }
        return inclusionProof(index: index - k, leaves[middle...]) + [rootHash(leaves[leaves.startIndex..<middle])]
    }

    public static func inclusionProof(index: Int, _ leaves: [Data]) -> [Data] {
        inclusionProof(index: index, leaves[...])
    }

    /// PROOF(m, D[n]): the consistency proof from the tree of the first `oldSize` leaves to the tree of all.
    public static func consistencyProof(from oldSize: Int, _ leaves: [Data]) -> [Data] {
        precondition(oldSize >= 0 && oldSize <= leaves.count, "a tree of \(leaves.count) has no prefix of \(oldSize)")
        guard oldSize > 0, oldSize < leaves.count else { return [] }
        return subproof(oldSize, leaves[...], complete: true)
    }

    /// SUBPROOF(m, D[n], b) of RFC 9162 §2.1.4.1.
    private static func subproof(_ m: Int, _ leaves: ArraySlice<Data>, complete: Bool) -> [Data] {
        let n = leaves.count
        if m == n { return complete ? [] : [rootHash(leaves)] }
        let k = split(n)
        let middle = leaves.startIndex + k
        if m <= k {
            return subproof(m, leaves[leaves.startIndex..<middle], complete: complete) + [rootHash(leaves[middle...])]
        }
        return subproof(m - k, leaves[middle...], complete: false) + [rootHash(leaves[leaves.startIndex..<middle])]
    }

    /// Whether `proof` shows the leaf with hash `leaf` at `index` in a tree of `treeSize` with root `root`
    /// (RFC 9162 §2.1.3.2).
    public static func verifyInclusion(leaf: Data, index: Int, treeSize: Int, proof: [Data], root: Data) -> Bool {
        guard index >= 0, index < treeSize else { return false }
        var r = leaf
        let walked = walk(from: index, last: treeSize - 1, proof[...]) { p, onLeft in
            r = onLeft ? nodeHash(p, r) : nodeHash(r, p)
        }
        return walked && r == root
    }

    /// Whether `proof` shows that the tree of `newSize` with root `newRoot` extends the tree of `oldSize`
    /// with root `oldRoot` (RFC 9162 §2.1.4.2).
    public static func verifyConsistency(
        oldSize: Int, newSize: Int, oldRoot: Data, newRoot: Data, proof: [Data]
    ) -> Bool {
        guard oldSize >= 0, oldSize <= newSize else { return false }
        if oldSize == newSize { return proof.isEmpty && oldRoot == newRoot }
        if oldSize == 0 { return proof.isEmpty }
        var path = proof
        // An old tree that is a complete subtree is its own first node.
        if oldSize & (oldSize - 1) == 0 { path.insert(oldRoot, at: 0) }
        guard let first = path.first else { return false }
        var fn = oldSize - 1
        var sn = newSize - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = first
        var sr = first
        // The old root is rebuilt from the hashes joining on the left; the new one from all of them.
        let walked = walk(from: fn, last: sn, path.dropFirst()) { c, onLeft in
            if onLeft { fr = nodeHash(c, fr) }
            sr = onLeft ? nodeHash(c, sr) : nodeHash(sr, c)
        }
        return walked && fr == oldRoot && sr == newRoot
    }

    /// The walk both verifications make: up from node `fn` of a level whose last node is `sn`, each proof
    /// hash joining on the left or on the right of what was built so far. True when the proof reaches the
    /// root exactly (neither short nor long).
    private static func walk(
        from fn: Int, last sn: Int, _ proof: ArraySlice<Data>, _ join: (Data, _ onLeft: Bool) -> Void
    ) -> Bool {
        var fn = fn
        var sn = sn
        for p in proof {
            guard sn != 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                join(p, true)
                if fn & 1 == 0 {
                    repeat {
                        fn >>= 1
                        sn >>= 1
                    } while fn & 1 == 0 && fn != 0
                }
            } else {
                join(p, false)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0
    }

    /// The largest power of two smaller than `n` (n > 1).
    static func split(_ n: Int) -> Int {
        var k = 1
        while k << 1 < n { k <<= 1 }
        return k
    }
}
