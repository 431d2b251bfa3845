import Foundation
import TakedownModel
import TakedownSigning

/// An entry as the log holds it once sequenced: its place in the tree and its bytes.
public struct LoggedEntry: Sendable, Equatable {
    public var index: Int64
    public var subject: String
    public var body: Data

    public init(index: Int64, subject: String, body: Data) {
        self.index = index
        self.subject = subject
        self.body = body
    }
}

/// A signed checkpoint the gateway kept: the tree's size and root, and the signed note.
public struct StoredCheckpoint: Sendable, Equatable {
    public var size: Int64
    public var rootHash: Data
    public var note: String
    public var signedAt: Date

    public init(size: Int64, rootHash: Data, note: String, signedAt: Date) {
        self.size = size
        self.rootHash = rootHash
        self.note = note
        self.signedAt = signedAt
    }
}

/// The tamper-evident log (RFC 9162 Merkle tree). Every change the log records is appended in the change's
/// own transaction, unsequenced; `sequenceLog` then gives pending entries their places, one sequencer at a
/// time across every instance, in the order they were written (on PostgreSQL, as they commit: each round in
/// the order of the transactions that wrote them), and stores the tree's complete nodes. A place, once given, never changes, nor does a node.
public protocol TransparencyLogStore: Sendable {
    /// Sequences up to `limit` pending entries and stores the nodes they complete; returns the tree's size.
    func sequenceLog(limit: Int) async throws -> Int64
    /// The number of sequenced entries.
    func logSize() async throws -> Int64
    /// The hashes of the stored nodes asked for; a node the tree does not have yet is left out.
    func logNodes(_ nodes: Set<MerkleNode>) async throws -> [MerkleNode: Data]
    /// Sequenced entries from `start` to before `end`, in tree order.
    func logEntries(from start: Int64, to end: Int64) async throws -> [LoggedEntry]
    /// The sequenced entries about `subject`, in tree order, and whether any of its entries wait for a place.
    func logEntries(about subject: String) async throws -> (entries: [LoggedEntry], pending: Bool)
    /// Keeps a checkpoint; one at a size: a second instance's signature of the same size is dropped.
    func addCheckpoint(_ checkpoint: StoredCheckpoint) async throws
    /// The checkpoint of the largest size kept.
    func latestCheckpoint() async throws -> StoredCheckpoint?
    /// The checkpoint kept at `size`, when one was.
    func checkpoint(size: Int64) async throws -> StoredCheckpoint?
    /// The log's Ed25519 signing key (base64url of its raw private bytes) and its name (the checkpoints'
    /// origin): the ones kept, or those proposed when none were (stored first, so that instances starting
    /// together, each with its own address, end with one log).
    func logIdentity(proposing key: String, origin: String) async throws -> (key: String, origin: String)
}
