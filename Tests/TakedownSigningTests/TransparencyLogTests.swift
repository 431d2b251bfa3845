import Crypto
import Foundation
import Testing

@testable import TakedownSigning

/// RFC 9162's tree and C2SP's checkpoints and signed notes: the certificate-transparency test vectors, every
/// proof of small trees checked both ways, and tampered proofs and notes refused.
@Suite("Transparency log: Merkle tree, checkpoints, signed notes")
struct TransparencyLogTests {
    /// The eight leaves of the certificate-transparency test vectors.
    static let leaves: [Data] = [
        Data(), Data([0x00]), Data([0x10]), Data([0x20, 0x21]), Data([0x30, 0x31]), Data([0x40, 0x41, 0x42, 0x43]),
        Data(0x50...0x57), Data(0x60...0x6f),
    ].map(MerkleTree.leafHash)

    static let roots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]

    static func hex(_ data: Data) -> String { data.map { String(format: "%02x", $0) }.joined() }

    @Test("root hashes of the test vectors, and of the empty tree")
    func roots() {
        for size in 1...8 {
            #expect(Self.hex(MerkleTree.rootHash(Array(Self.leaves.prefix(size)))) == Self.roots[size - 1])
        }
        #expect(
            Self.hex(MerkleTree.rootHash([]))
                == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test("inclusion and consistency proofs of the test vectors")
    func vectors() {
        #expect(
            MerkleTree.inclusionProof(index: 5, Self.leaves).map(Self.hex) == [
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ])
        #expect(
            MerkleTree.consistencyProof(from: 6, Self.leaves).map(Self.hex) == [
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ])
        #expect(
            MerkleTree.consistencyProof(from: 2, Array(Self.leaves.prefix(5))).map(Self.hex) == [
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ])
        #expect(MerkleTree.consistencyProof(from: 1, Self.leaves) == MerkleTree.inclusionProof(index: 0, Self.leaves))
    }

    @Test("every proof of every tree up to 33 leaves verifies, and none verifies once changed")
    func everyProof() {
        let leaves = (0..<33).map { MerkleTree.leafHash(Data("entry \($0)".utf8)) }
        let roots = (0...leaves.count).map { MerkleTree.rootHash(Array(leaves.prefix($0))) }
        let stranger = MerkleTree.leafHash(Data("not in the log".utf8))
        for size in 1...leaves.count {
            let tree = Array(leaves.prefix(size))
            for index in 0..<size {
                let proof = MerkleTree.inclusionProof(index: index, tree)
                #expect(
                    MerkleTree.verifyInclusion(
                        leaf: tree[index], index: index, treeSize: size, proof: proof, root: roots[size]))
                #expect(
                    !MerkleTree.verifyInclusion(
                        leaf: stranger, index: index, treeSize: size, proof: proof, root: roots[size]))
                // Another position in the tree, or a proof cut short: refused.
                if size > 1 {
                    #expect(
                        !MerkleTree.verifyInclusion(
                            leaf: tree[index], index: (index + 1) % size, treeSize: size, proof: proof,
                            root: roots[size]))
                }
                if !proof.isEmpty {
                    #expect(
                        !MerkleTree.verifyInclusion(
                            leaf: tree[index], index: index, treeSize: size, proof: proof.dropLast(),
                            root: roots[size]))
                }
            }
            for old in 1...size {
                let proof = MerkleTree.consistencyProof(from: old, tree)
                #expect(
                    MerkleTree.verifyConsistency(
                        oldSize: old, newSize: size, oldRoot: roots[old], newRoot: roots[size], proof: proof),
                    "\(old) → \(size)")
                if old < size {
                    // A rewritten old tree (another root) is not extended by the new one.
                    #expect(
                        !MerkleTree.verifyConsistency(
                            oldSize: old, newSize: size, oldRoot: roots[old - 1], newRoot: roots[size], proof: proof))
                    var tampered = proof
                    tampered[tampered.count - 1] = stranger
                    #expect(
                        !MerkleTree.verifyConsistency(
                            oldSize: old, newSize: size, oldRoot: roots[old], newRoot: roots[size], proof: tampered))
                }
            }
        }
        // A larger old tree than the new one, and sizes out of range.
        #expect(!MerkleTree.verifyConsistency(oldSize: 5, newSize: 4, oldRoot: roots[5], newRoot: roots[4], proof: []))
        #expect(
            !MerkleTree.verifyInclusion(leaf: leaves[0], index: -1, treeSize: 4, proof: [], root: roots[4]))
    }

    @Test("a checkpoint's text round-trips; malformed ones are refused")
    func checkpoints() throws {
        let root = MerkleTree.rootHash(Self.leaves)
        let checkpoint = Checkpoint(origin: "takedown.example/log", size: 8, rootHash: root)
        #expect(checkpoint.text == "takedown.example/log\n8\n\(root.base64EncodedString())\n")
        #expect(Checkpoint(text: checkpoint.text) == checkpoint)
        let extended = Checkpoint(origin: "o", size: 1, rootHash: root, extensions: ["ext one"])
        #expect(Checkpoint(text: extended.text) == extended)
        let rootText = root.base64EncodedString()
        for text in [
            "", "o\n8\n", "o\n8\n\(rootText)", "o\n08\n\(rootText)\n", "o\n-1\n\(rootText)\n", "o\n8\nAAAA\n",
            "\n8\n\(rootText)\n", "o\n8\n\(rootText)\n\n", "o\n99999999999999999999\n\(rootText)\n",
            "o\n８\n\(rootText)\n",
        ] {
            #expect(Checkpoint(text: text) == nil, "\(text)")
        }
    }

    @Test("a signed note verifies with its key alone, and not once a byte changes or under another key")
    func notes() throws {
        let key = Curve25519.Signing.PrivateKey()
        let name = "takedown.example/log"
        let text = Checkpoint(origin: name, size: 8, rootHash: MerkleTree.rootHash(Self.leaves)).text
        let note = try SignedNote.sign(text, name: name, key: key)
        #expect(note.hasPrefix(text + "\n— \(name) "))
        #expect(try SignedNote.open(note, name: name, key: key.publicKey) == text)

        // The verifier key names the key and round-trips.
        let verifier = SignedNote.verifierKey(name: name, publicKey: key.publicKey)
        let read = try #require(SignedNote.publicKey(fromVerifierKey: verifier))
        #expect(read.name == name && read.key.rawRepresentation == key.publicKey.rawRepresentation)
        #expect(SignedNote.publicKey(fromVerifierKey: verifier.replacingOccurrences(of: name, with: "other")) == nil)

        // Another key's signature, a changed size, a cut note: refused.
        let other = Curve25519.Signing.PrivateKey()
        #expect(throws: SignedNote.Refusal.notSigned) {
            try SignedNote.open(note, name: name, key: other.publicKey)
        }
        #expect(throws: SignedNote.Refusal.notSigned) {
            try SignedNote.open(note.replacingOccurrences(of: "\n8\n", with: "\n9\n"), name: name, key: key.publicKey)
        }
        #expect(throws: SignedNote.Refusal.self) { try SignedNote.open(text, name: name, key: key.publicKey) }
        // A second signature by a key the verifier does not know is ignored.
        let cosigned = try SignedNote.sign(text, name: "witness.example", key: other)
        let both = note + String(cosigned.dropFirst(text.count + 1))
        #expect(try SignedNote.open(both, name: name, key: key.publicKey) == text)
        #expect(try SignedNote.open(both, name: "witness.example", key: other.publicKey) == text)
        #expect(throws: SignedNote.Refusal.self) { try SignedNote.sign("no newline", name: name, key: key) }
        #expect(throws: SignedNote.Refusal.self) { try SignedNote.sign(text, name: "has space", key: key) }
    }
}

@Suite("Transparency log: tiles")
struct LogTileTests {
    @Test("tile paths as C2SP tlog-tiles names them, read back; malformed ones refused")
    func paths() {
        #expect(LogTiles.indexPath(1_234_067) == "x001/x234/067")
        #expect(LogTiles.indexPath(0) == "000" && LogTiles.indexPath(999) == "999")
        #expect(LogTiles.indexPath(1000) == "x001/000")
        #expect(LogTiles.tile(path: "tile/0/x001/234") == LogTiles.Tile(level: 0, index: 1234, width: 256))
        #expect(LogTiles.Tile(level: 0, index: 1_234_067, width: 256).path == "tile/0/x001/x234/067")
        #expect(LogTiles.Tile(level: 2, index: 5, width: 8).path == "tile/2/005.p/8")
        for tile in [
            LogTiles.Tile(level: 0, index: 0, width: 1), LogTiles.Tile(level: 1, index: 1_234_067, width: 256),
            LogTiles.Tile(level: 63, index: 999_999_999, width: 255),
        ] {
            #expect(LogTiles.tile(path: tile.path) == tile)
        }
        for path in [
            "tile/0/1234067", "tile/0/x1/234", "tile/00/000", "tile/0/000.p/0", "tile/0/000.p/256",
            "tile/0/000.p/08", "tile/64/000", "tile/0/x000/001", "tile/0/", "tile/0", "tile//000", "tile/-1/000",
            "tile/0/00a", "tile/0/x001/x002", "tile/0/000.p/", "tile/0/000.p/1/2", "tiles/0/000",
            "tile/0/" + String(repeating: "x999/", count: 40) + "999", "tile/0/٠٠٠", "tile/entries/000",
            // 9,223,372,036,854,775,807: an index whose first hash would overflow.
            "tile/0/x009/x223/x372/x036/x854/x775/807",
        ] {
            #expect(LogTiles.tile(path: path) == nil, "\(path)")
        }
    }

    @Test("which tiles a tree of a given size has, and how wide")
    func widths() {
        #expect(LogTiles.tile(level: 0, index: 0, treeSize: 0) == nil)
        #expect(LogTiles.tile(level: 0, index: 0, treeSize: 1)?.width == 1)
        #expect(LogTiles.tile(level: 0, index: 0, treeSize: 256)?.width == 256)
        #expect(LogTiles.tile(level: 0, index: 1, treeSize: 256) == nil)
        #expect(LogTiles.tile(level: 1, index: 0, treeSize: 255) == nil)
        #expect(LogTiles.tile(level: 1, index: 0, treeSize: 256)?.width == 1)
        #expect(LogTiles.tile(level: 1, index: 0, treeSize: 70_000)?.width == 256)
        #expect(LogTiles.tile(level: 1, index: 1, treeSize: 70_000)?.width == 17)
        #expect(LogTiles.tile(level: 2, index: 0, treeSize: 70_000)?.width == 1)
        #expect(LogTiles.tile(level: 63, index: 0, treeSize: .max) == nil)
        #expect(LogTiles.tile(level: 0, index: .max, treeSize: .max) == nil)
        #expect(LogTiles.tile(level: 0, index: Int64.max >> 8, treeSize: .max)?.width == 255)
        #expect(!LogTiles.serves(.init(level: 0, index: .max, width: 1), treeSize: .max))
        // A narrower partial tile than today's is still served; a wider one, or one beyond the tree, not.
        #expect(LogTiles.serves(.init(level: 0, index: 1, width: 10), treeSize: 300))
        #expect(LogTiles.serves(.init(level: 0, index: 0, width: 256), treeSize: 300))
        #expect(!LogTiles.serves(.init(level: 0, index: 1, width: 45), treeSize: 300))
        #expect(!LogTiles.serves(.init(level: 0, index: 2, width: 1), treeSize: 300))
    }

    @Test("a tile's bytes are the hashes of its level, and the tree's root is built from them")
    func data() {
        let leaves = (0..<600).map { MerkleTree.leafHash(Data("entry \($0)".utf8)) }
        func hash(_ level: Int, _ index: Int64) -> Data { MerkleTree.subtreeHash(level: level, index: index, leaves) }
        let partial = LogTiles.tile(level: 0, index: 2, treeSize: 600)!
        #expect(partial.width == 88 && partial.path == "tile/0/002.p/88")
        #expect(LogTiles.data(of: partial, hash: hash) == leaves[512..<600].reduce(Data(), +))
        let upper = LogTiles.tile(level: 1, index: 0, treeSize: 600)!
        #expect(upper.width == 2)
        let data = LogTiles.data(of: upper, hash: hash)
        #expect(data.prefix(32) == MerkleTree.rootHash(Array(leaves[0..<256])))
        #expect(MerkleTree.nodeHash(data.prefix(32), data.suffix(32)) == MerkleTree.rootHash(Array(leaves[0..<512])))
    }
}
