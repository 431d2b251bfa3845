import Crypto
import Foundation
import TakedownModel
import TakedownSigning
import TakedownStore

/// The tamper-evident log: sequencing the entries the store appended with each change, signed checkpoints,
/// and the proofs and tiles partners, mirrors and auditors check them with.
public struct LogDesk: GatewayUseCase {
    let gateway: Gateway

    /// Entries sequenced in one transaction at most: a round's transaction stays short.
    static let sequencingBatch = 1_000
    /// Entries a page of `/v1/log/entries` holds at most.
    public static let pageLimit: Int64 = 1_000

    /// The gateway's current time (its injected clock).
    public func now() -> Date { gateway.now() }

    /// The key checkpoints are signed with, as C2SP writes a verifier key: `origin+keyid+base64`.
    public func verifierKey() async throws -> String {
        let identity = try await gateway.logIdentity()
        return SignedNote.verifierKey(name: identity.origin, publicKey: identity.key.publicKey)
    }

    /// The number of sequenced entries.
    public func size() async throws -> Int64 { try await store.logSize() }

    /// Gives every pending entry its place in the tree; returns the tree's size.
    @discardableResult
    public func sequence() async throws -> Int64 {
        var size = try await store.logSize()
        while true {
            let grown = try await store.sequenceLog(limit: Self.sequencingBatch)
            if grown - size < Int64(Self.sequencingBatch) { return grown }
            size = grown
        }
    }

    /// Sequences what is pending and signs a checkpoint of the tree when it grew since the last one; the
    /// checkpoint kept for the tree's size (another instance's, when it signed first). Refuses to sign a
    /// tree that does not extend the last checkpoint's.
    @discardableResult
    public func checkpoint() async throws -> StoredCheckpoint {
        let size = try await sequence()
        let last = try await store.latestCheckpoint()
        if let last, last.size >= size { return last }
        let root = try await rootHash(size: size)
        if let last {
            let proof = try await consistencyProof(from: last.size, to: size)
            guard
                MerkleTree.verifyConsistency(
                    oldSize: Int(last.size), newSize: Int(size), oldRoot: last.rootHash, newRoot: root, proof: proof)
            else {
                logger.critical("the log's tree does not extend its last checkpoint", metadata: ["size": "\(size)"])
                throw GatewayError.unavailable("the log's tree does not extend its last checkpoint; not signed")
            }
        }
        let identity = try await gateway.logIdentity()
        let text = Checkpoint(origin: identity.origin, size: Int(size), rootHash: root).text
        let note = try SignedNote.sign(text, name: identity.origin, key: identity.key)
        try await store.addCheckpoint(StoredCheckpoint(size: size, rootHash: root, note: note, signedAt: now()))
        return try await store.checkpoint(size: size)
            ?? StoredCheckpoint(
                size: size, rootHash: root, note: note, signedAt: now())
    }

    /// The latest checkpoint; a first one is signed when none was.
    public func latestCheckpoint() async throws -> StoredCheckpoint {
        if let latest = try await store.latestCheckpoint() { return latest }
        return try await checkpoint()
    }

    /// A checkpoint kept at `size`.
    public func checkpoint(size: Int64) async throws -> StoredCheckpoint {
        guard let kept = try await store.checkpoint(size: size) else {
            throw GatewayError.notFound("a checkpoint of tree size \(size)")
        }
        return kept
    }

    /// MTH of the first `size` entries, from the stored nodes.
    public func rootHash(size: Int64) async throws -> Data {
        try await hashes(of: [0..<size])[0]
    }

    /// PATH(index, D[size]).
    public func inclusionProof(index: Int64, size: Int64) async throws -> [Data] {
        try await hashes(of: MerkleTree.inclusionRanges(index: index, size: size))
    }

    /// PROOF(old, D[size]), after checking both sizes against the tree (the API names its parameters and
    /// refuses bad ones first; this keeps any other caller from the proof's preconditions).
    public func consistencyProof(from old: Int64, to size: Int64) async throws -> [Data] {
        let current = try await store.logSize()
        guard old >= 0, old <= size, size <= current else {
            throw GatewayError.notFound("a proof from \(old) to \(size) entries in a tree of \(current)")
        }
        return try await hashes(of: MerkleTree.consistencyRanges(from: old, to: size))
    }

    /// The hashes of leaf ranges, read from the nodes they split into in one query.
    func hashes(of ranges: [Range<Int64>]) async throws -> [Data] {
        let wanted = Set(ranges.flatMap { MerkleTree.nodes(covering: $0) })
        let stored = try await store.logNodes(wanted)
        return try ranges.map { range in
            guard let hash = MerkleTree.rangeHash(range, stored) else {
                throw GatewayError.unavailable("the log misses a node of leaves \(range)")
            }
            return hash
        }
    }

    /// Sequenced entries `start ..< end`, at most `pageLimit`.
    public func entries(start: Int64, end: Int64) async throws -> [LoggedEntry] {
        let (last, overflow) = start.addingReportingOverflow(Self.pageLimit)
        return try await store.logEntries(from: start, to: overflow ? end : min(end, last))
    }

    /// The entries about a record with their inclusion proofs in the latest checkpoint; a record's entries
    /// still pending are sequenced and a new checkpoint signed first, so that its proof can be had at once.
    public func proofs(about subject: String) async throws -> LogProofs {
        var found = try await store.logEntries(about: subject)
        var checkpoint = try await latestCheckpoint()
        if found.pending || found.entries.contains(where: { $0.index >= checkpoint.size }) {
            checkpoint = try await self.checkpoint()
            found = try await store.logEntries(about: subject)
        }
        var proven: [LogProofs.Proven] = []
        for entry in found.entries where entry.index < checkpoint.size {
            proven.append(
                .init(entry: entry, proof: try await inclusionProof(index: entry.index, size: checkpoint.size)))
        }
        return LogProofs(checkpoint: checkpoint, entries: proven)
    }

    /// The proofs of a hash list's published version.
    public func proofs(list: HashListID, version: Int) async throws -> LogProofs {
        try await proofs(about: LogEntry.versionSubject(list: list, version: version))
    }

    /// A C2SP tile's bytes, when the tree holds all of it.
    public func tile(_ tile: LogTiles.Tile) async throws -> Data? {
        let size = try await store.logSize()
        guard LogTiles.serves(tile, treeSize: size) else { return nil }
        let nodes = (0..<Int64(tile.width)).map { MerkleNode(level: tile.treeLevel, index: tile.first + $0) }
        let stored = try await store.logNodes(Set(nodes))
        return try LogTiles.data(of: tile) { level, index in
            guard let hash = stored[MerkleNode(level: level, index: index)] else {
                throw GatewayError.unavailable("the log misses node \(level)/\(index)")
            }
            return hash
        }
    }
}

/// A record's entries, each with its inclusion proof in one checkpoint.
public struct LogProofs: Sendable {
    public struct Proven: Sendable {
        public var entry: LoggedEntry
        public var proof: [Data]
    }

    public var checkpoint: StoredCheckpoint
    public var entries: [Proven]
}

/// The log's key and name, as the store keeps them for every instance.
struct LogIdentity: Sendable {
    var key: Curve25519.Signing.PrivateKey
    var origin: String
}

extension Gateway {
    /// The log's key and name, read from the store once (made there by the first instance that needed them,
    /// with the name from its settings: the log keeps it for good).
    func logIdentity() async throws -> LogIdentity {
        if let identity = log.withLock({ $0 }) { return identity }
        let proposed = Base64URL.encode(Curve25519.Signing.PrivateKey().rawRepresentation)
        let stored = try await store.logIdentity(proposing: proposed, origin: configuration.logOrigin)
        guard let raw = Base64URL.decode(stored.key),
            let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw)
        else { throw GatewayError.unavailable("the store's log key is not an Ed25519 key") }
        if stored.origin != configuration.logOrigin {
            logger.notice(
                "the log keeps the name it was given first",
                metadata: ["origin": "\(stored.origin)", "configured": "\(configuration.logOrigin)"])
        }
        let identity = LogIdentity(key: key, origin: stored.origin)
        log.withLock { $0 = identity }
        return identity
    }
}
