import Foundation

/// The C2SP `tlog-tiles` layout of a log's Merkle tree: tiles 8 levels high and 256 hashes wide, named
/// `tile/<L>/<N>[.p/<W>]`, so that mirrors and monitors can fetch the tree as static files.
///
/// A tile at level L, index N holds the hashes of tree level 8·L, nodes 256·N to 256·N + W − 1: at level 0
/// the leaves' hashes, above them the roots of complete subtrees of 256^L leaves. A tile is full (W = 256)
/// once the tree has grown past it, and partial (`.p/W`) while the tree ends inside it.
public enum LogTiles {
    public static let height = 8
    public static let width = 1 << height

    /// A tile's coordinates.
    public struct Tile: Sendable, Equatable {
        public var level: Int
        public var index: Int64
        /// How many hashes it holds: 256, or fewer for a partial tile.
        public var width: Int

        public init(level: Int, index: Int64, width: Int) {
            self.level = level
            self.index = index
            self.width = width
        }

        /// `tile/<L>/<N>[.p/<W>]`: N in groups of three digits, each but the last with an `x`.
        public var path: String {
            "tile/\(level)/" + LogTiles.indexPath(index) + (width < LogTiles.width ? ".p/\(width)" : "")
        }

        /// Which tree nodes it holds: level `8·L`, from `first`, `width` of them.
        public var treeLevel: Int { level * LogTiles.height }
        public var first: Int64 { index * Int64(LogTiles.width) }
    }

    /// `x001/x234/067` for 1234067.
    static func indexPath(_ index: Int64) -> String {
        var groups: [String] = []
        var rest = index
        repeat {
            groups.append(String(format: "%03lld", rest % 1000))
            rest /= 1000
        } while rest > 0
        return groups.reversed().enumerated().map { offset, group in
            offset == groups.count - 1 ? group : "x" + group
        }.joined(separator: "/")
    }

    /// The tile a path names, or nil when it is not a tile path (any malformed, oversized or non-canonical
    /// form: leading zeros missing, an `x` on the last group, a width of 0 or 256 or more, a level above 63).
    public static func tile(path: String) -> Tile? {
        guard path.utf8.count <= 128, path.hasPrefix("tile/") else { return nil }
        var parts = path.dropFirst("tile/".count).split(separator: "/", omittingEmptySubsequences: false)
            .map(String.init)
        guard parts.count >= 2, let level = Int(parts[0]), level >= 0, level <= 63, String(level) == parts[0]
        else { return nil }
        parts.removeFirst()
        var width = Self.width
        if parts.count >= 2, parts[parts.count - 2].hasSuffix(".p") {
            guard let w = Int(parts[parts.count - 1]), w > 0, w < Self.width, String(w) == parts[parts.count - 1]
            else { return nil }
            width = w
            parts.removeLast()
            parts[parts.count - 1].removeLast(2)
        }
        var index: Int64 = 0
        for (offset, part) in parts.enumerated() {
            let last = offset == parts.count - 1
            let digits = last ? Substring(part) : part.hasPrefix("x") ? part.dropFirst() : ""
            guard digits.count == 3, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let group = Int64(digits),
                index <= (Int64.max - group) / 1000
            else { return nil }
            index = index * 1000 + group
        }
        // No tree has more than 2^63 nodes at a level, so no more than 2^55 tiles: a larger index would
        // overflow `first`.
        guard index <= Int64.max >> height else { return nil }
        let tile = Tile(level: level, index: index, width: width)
        return tile.path == path ? tile : nil
    }

    /// The tile at `level`, `index` as the tree of `treeSize` leaves has it: full, partial, or nil when the
    /// tree holds none of its hashes yet.
    public static func tile(level: Int, index: Int64, treeSize: Int64) -> Tile? {
        guard level >= 0, level <= 63, index >= 0, index <= Int64.max >> height, treeSize >= 0 else { return nil }
        let nodes = level * height >= 63 ? 0 : treeSize >> Int64(level * height)
        let available = nodes - index * Int64(width)
        guard available > 0 else { return nil }
        return Tile(level: level, index: index, width: Int(min(available, Int64(width))))
    }

    /// Whether the tree of `treeSize` holds every hash of `tile`. A node's hash never changes once its
    /// subtree is complete, so a partial tile narrower than today's is served as it was.
    public static func serves(_ tile: Tile, treeSize: Int64) -> Bool {
        guard let current = Self.tile(level: tile.level, index: tile.index, treeSize: treeSize) else { return false }
        return tile.width <= current.width
    }

    /// The tile's bytes: its hashes one after the other, `hash(level, index)` giving the hash of node `index`
    /// at tree level `level` (the root of the complete subtree of 2^level leaves from index·2^level).
    public static func data(of tile: Tile, hash: (_ level: Int, _ index: Int64) throws -> Data) rethrows -> Data {
        var data = Data(capacity: tile.width * 32)
        for offset in 0..<Int64(tile.width) {
            data.append(try hash(tile.treeLevel, tile.first + offset))
        }
        return data
    }
}

extension MerkleTree {
    /// The hash of node `index` at tree level `level`: the root of the complete subtree over leaves
    /// `index·2^level ..< (index+1)·2^level`, which must all be in `leaves`.
    public static func subtreeHash(level: Int, index: Int64, _ leaves: [Data]) -> Data {
        let start = Int(index) << level
        return rootHash(leaves[start..<(start + (1 << level))])
    }
}
