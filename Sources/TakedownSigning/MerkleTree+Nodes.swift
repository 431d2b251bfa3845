import Foundation

/// A node of the tree: the root of the complete subtree of 2^level leaves from `index`·2^level. A node's
/// hash never changes once its subtree is complete, which is what lets a store keep them and tiles serve them.
public struct MerkleNode: Hashable, Sendable, Comparable {
    public var level: Int
    public var index: Int64

    public init(level: Int, index: Int64) {
        self.level = level
        self.index = index
    }

    public static func < (a: MerkleNode, b: MerkleNode) -> Bool {
        (a.level, a.index) < (b.level, b.index)
    }
}

/// The tree's proofs and roots from its stored complete nodes, for a tree too large to hold in memory.
/// Every hash RFC 9162 asks for is MTH of a range of leaves; a range is the fold of the complete subtrees it
/// splits into, so a proof is first a set of nodes to read, then hashes folded from them.
extension MerkleTree {
    /// The leaf ranges, in order, whose hashes make PATH(index, D[size]).
    public static func inclusionRanges(index: Int64, size: Int64) -> [Range<Int64>] {
        precondition(index >= 0 && index < size, "leaf \(index) is not in a tree of \(size)")
        var ranges: [Range<Int64>] = []
        var range: Range<Int64> = 0..<size
        // Walk down from the root: each step keeps the half holding the leaf and records the other half.
        while range.count > 1 {
            let k = Int64(split(range.count))
            let middle = range.lowerBound + k
            if index < middle {
                ranges.append(middle..<range.upperBound)
                range = range.lowerBound..<middle
            } else {
                ranges.append(range.lowerBound..<middle)
                range = middle..<range.upperBound
            }
        }
        return ranges.reversed()
    }

    /// The leaf ranges, in order, whose hashes make PROOF(oldSize, D[size]) (RFC 9162 §2.1.4.1).
    public static func consistencyRanges(from oldSize: Int64, to size: Int64) -> [Range<Int64>] {
        precondition(oldSize >= 0 && oldSize <= size, "a tree of \(size) has no prefix of \(oldSize)")
        guard oldSize > 0, oldSize < size else { return [] }
        var ranges: [Range<Int64>] = []
        var range: Range<Int64> = 0..<size
        var m = oldSize
        var complete = true
        while true {
            let n = Int64(range.count)
            if m == n {
                if !complete { ranges.append(range) }
                break
            }
            let k = Int64(split(Int(n)))
            let middle = range.lowerBound + k
            if m <= k {
                ranges.append(middle..<range.upperBound)
                range = range.lowerBound..<middle
            } else {
                ranges.append(range.lowerBound..<middle)
                range = middle..<range.upperBound
                m -= k
                complete = false
            }
        }
        return ranges.reversed()
    }

    /// The complete subtrees a range of leaves splits into, as RFC 9162 splits it: left to right.
    public static func nodes(covering range: Range<Int64>) -> [MerkleNode] {
        var nodes: [MerkleNode] = []
        var start = range.lowerBound
        let end = range.upperBound
        while start < end {
            let count = end - start
            // The largest power of two not above `count`, and no larger than `start`'s alignment allows.
            var level = 63 - count.leadingZeroBitCount
            if start != 0 { level = min(level, start.trailingZeroBitCount) }
            nodes.append(MerkleNode(level: level, index: start >> Int64(level)))
            start += Int64(1) << Int64(level)
        }
        return nodes
    }

    /// MTH of a range of leaves from the hashes of the nodes it splits into; nil when one is missing.
    public static func rangeHash(_ range: Range<Int64>, _ hashes: [MerkleNode: Data]) -> Data? {
        guard !range.isEmpty else { return rootHash([Data]()) }
        var folded: Data?
        for node in nodes(covering: range).reversed() {
            guard let hash = hashes[node] else { return nil }
            folded = folded.map { nodeHash(hash, $0) } ?? hash
        }
        return folded
    }

    /// The nodes a tree of `size` keeps on its right edge, one per set bit of the size, from which every
    /// append builds: the complete subtrees the whole tree splits into.
    public static func frontier(size: Int64) -> [MerkleNode] {
        nodes(covering: 0..<size)
    }

    /// The nodes a tree of `size` gains when `leaves` (their hashes) are appended: each leaf, and each
    /// subtree it completes. `frontier` holds the hashes of `frontier(size:)`.
    public static func append(_ leaves: [Data], to size: Int64, frontier: [MerkleNode: Data]) -> [(MerkleNode, Data)] {
        var known = frontier
        var added: [(MerkleNode, Data)] = []
        for (offset, leaf) in leaves.enumerated() {
            var node = MerkleNode(level: 0, index: size + Int64(offset))
            var hash = leaf
            added.append((node, hash))
            known[node] = hash
            // A right child completes its parent, whose left child is already known.
            while node.index & 1 == 1, let left = known[MerkleNode(level: node.level, index: node.index - 1)] {
                hash = nodeHash(left, hash)
                node = MerkleNode(level: node.level + 1, index: node.index >> 1)
                added.append((node, hash))
                known[node] = hash
            }
        }
        return added
    }
}
