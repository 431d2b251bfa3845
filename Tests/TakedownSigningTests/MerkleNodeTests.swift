import Foundation
import Testing

@testable import TakedownSigning

@Suite("Transparency log: proofs from stored nodes")
struct MerkleNodeTests {
    static func leaves(_ count: Int) -> [Data] {
        (0..<count).map { MerkleTree.leafHash(Data("entry \($0)".utf8)) }
    }

    /// The nodes a tree of `leaves` stores when its leaves arrive in batches of `batch`.
    static func grown(_ leaves: [Data], batch: Int) -> [MerkleNode: Data] {
        var stored: [MerkleNode: Data] = [:]
        var size: Int64 = 0
        while size < Int64(leaves.count) {
            let next = Array(leaves[Int(size)..<min(Int(size) + batch, leaves.count)])
            let frontier = stored.filter { MerkleTree.frontier(size: size).contains($0.key) }
            for (node, hash) in MerkleTree.append(next, to: size, frontier: frontier) {
                #expect(stored[node] == nil, "node \(node) was made twice")
                stored[node] = hash
            }
            size += Int64(next.count)
        }
        return stored
    }

    @Test("appends in any batches store every complete node and nothing else", arguments: [1, 2, 3, 7, 64])
    func appends(batch: Int) {
        let leaves = Self.leaves(70)
        let stored = Self.grown(leaves, batch: batch)
        var expected = 0
        for level in 0..<8 {
            for index in 0..<(70 >> level) {
                expected += 1
                #expect(
                    stored[MerkleNode(level: level, index: Int64(index))]
                        == MerkleTree.subtreeHash(level: level, index: Int64(index), leaves))
            }
        }
        #expect(stored.count == expected)
    }

    @Test("roots, inclusion and consistency proofs from nodes equal those from the leaves, up to 40 leaves")
    func proofsFromNodes() throws {
        let all = Self.leaves(40)
        let stored = Self.grown(all, batch: 5)
        func hashes(_ ranges: [Range<Int64>]) throws -> [Data] {
            try ranges.map { try #require(MerkleTree.rangeHash($0, stored)) }
        }
        for size in 1...40 {
            let leaves = Array(all.prefix(size))
            #expect(try hashes([0..<Int64(size)]) == [MerkleTree.rootHash(leaves)])
            for index in 0..<size {
                #expect(
                    try hashes(MerkleTree.inclusionRanges(index: Int64(index), size: Int64(size)))
                        == MerkleTree.inclusionProof(index: index, leaves))
            }
            for old in 0...size {
                #expect(
                    try hashes(MerkleTree.consistencyRanges(from: Int64(old), to: Int64(size)))
                        == MerkleTree.consistencyProof(from: old, leaves))
            }
        }
    }

    @Test("a range whose nodes are not all stored has no hash")
    func missingNode() {
        let stored = Self.grown(Self.leaves(5), batch: 5)
        #expect(MerkleTree.rangeHash(0..<5, stored) != nil)
        #expect(MerkleTree.rangeHash(0..<6, stored) == nil)
        #expect(MerkleTree.rangeHash(0..<0, stored) == MerkleTree.rootHash([Data]()))
        #expect(
            MerkleTree.nodes(covering: 0..<7) == [
                .init(level: 2, index: 0), .init(level: 1, index: 2), .init(level: 0, index: 6),
            ])
    }
}
