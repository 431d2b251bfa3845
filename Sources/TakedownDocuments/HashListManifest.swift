import Foundation
import TakedownModel

/// What a published version holds and how to check it: signed like notices, and chained to the
/// previous version's manifest by hash.
public struct HashListManifest: Codable, Sendable, Equatable {
    /// One export file: its format, hash type (text files only), SHA-256 and size, uncompressed.
    public struct Export: Codable, Sendable, Equatable {
        public var format: ExportFormat
        public var hash: HashType?
        public var sha256: String
        public var bytes: Int64

        public init(format: ExportFormat, hash: HashType?, sha256: String, bytes: Int64) {
            self.format = format
            self.hash = hash
            self.sha256 = sha256
            self.bytes = bytes
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(format, forKey: .format)
            try container.encode(hash, forKey: .hash)
            try container.encode(sha256, forKey: .sha256)
            try container.encode(bytes, forKey: .bytes)
        }
    }

    public var iss: String
    public var listId: HashListID
    public var name: String
    /// `hashes` or `urls`; absent from manifests signed before URL lists existed (read as `hashes`).
    public var kind: HashListKind?
    public var version: Int
    /// The list's last change in this version: follow the change feed after it.
    public var seq: Int64
    public var feedCursor: String
    public var entryCount: Int
    public var createdAt: Date
    public var expiresAt: Date
    public var minPollSeconds: Int
    public var tombstoneRetentionDays: Int
    public var previousManifestSha256: String?
    public var exports: [Export]

    public init(
        iss: String, listId: HashListID, name: String, version: Int, seq: Int64, feedCursor: String,
        entryCount: Int, createdAt: Date, expiresAt: Date, minPollSeconds: Int, tombstoneRetentionDays: Int,
        previousManifestSha256: String?, exports: [Export], kind: HashListKind = .hashes
    ) {
        self.kind = kind
        self.iss = iss
        self.listId = listId
        self.name = name
        self.version = version
        self.seq = seq
        self.feedCursor = feedCursor
        self.entryCount = entryCount
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.minPollSeconds = minPollSeconds
        self.tombstoneRetentionDays = tombstoneRetentionDays
        self.previousManifestSha256 = previousManifestSha256
        self.exports = exports
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(iss, forKey: .iss)
        try container.encode(listId, forKey: .listId)
        try container.encode(name, forKey: .name)
        try container.encode(kind ?? .hashes, forKey: .kind)
        try container.encode(version, forKey: .version)
        try container.encode(seq, forKey: .seq)
        try container.encode(feedCursor, forKey: .feedCursor)
        try container.encode(entryCount, forKey: .entryCount)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(expiresAt, forKey: .expiresAt)
        try container.encode(minPollSeconds, forKey: .minPollSeconds)
        try container.encode(tombstoneRetentionDays, forKey: .tombstoneRetentionDays)
        // Present as null on version 1, so every manifest has the same fields.
        try container.encode(previousManifestSha256, forKey: .previousManifestSha256)
        try container.encode(exports, forKey: .exports)
    }

    /// The signed bytes: sorted snake_case keys, RFC 3339 times.
    public func canonicalJSON() throws -> Data {
        try WireFormat.encoder().encode(self)
    }

    /// The export of a kind, if the version has one.
    public func export(_ kind: ExportKind) -> Export? {
        exports.first { $0.format == kind.format && $0.hash == kind.hash }
    }
}
