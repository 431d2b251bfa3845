import Crypto
import Foundation
import TakedownDocuments
import TakedownModel
import TakedownStore

extension HashListDesk {
    /// Records read from the store at a time while exporting: memory stays flat whatever the list's size.
    static let exportChunk = 2_000

    /// Freezes the list's current state as its next version, with every export's SHA-256 and size in a
    /// signed manifest. When nothing changed since the newest version, that version is returned instead.
    public func publishHashList(_ id: HashListID) async throws -> (version: HashListVersion, created: Bool) {
        let list = try await hashList(id)
        let latest = try await store.hashListVersion(id, number: nil)
        if let latest, latest.seq == list.lastSeq { return (latest, false) }
        let now = clock()
        let kinds = ExportKind.all(for: list)
        var digests: [HashListManifest.Export] = []
        var entryCount = 0
        var exporters = kinds.map { HashListExporter(kind: $0, list: list, source: configuration.issuer.organisation) }
        var hashers = kinds.map { _ in SHA256() }
        var sizes = [Int64](repeating: 0, count: kinds.count)
        func feed(_ index: Int, _ bytes: [UInt8]) {
            hashers[index].update(data: bytes)
            sizes[index] += Int64(bytes.count)
        }
        for index in kinds.indices { feed(index, exporters[index].header()) }
        try await forEachChunk(of: list, at: list.lastSeq) { records in
            entryCount += records.count
            var buffer: [UInt8] = []
            for index in kinds.indices {
                buffer.removeAll(keepingCapacity: true)
                for record in records { exporters[index].write(record, to: &buffer) }
                feed(index, buffer)
            }
        }
        for index in kinds.indices {
            feed(index, exporters[index].footer())
            digests.append(
                .init(
                    format: kinds[index].format, hash: kinds[index].hash,
                    sha256: Hex.encode(hashers[index].finalize()),
                    bytes: sizes[index]))
        }
        let number = (latest?.version ?? 0) + 1
        let settings = configuration.hashLists
        let manifest = HashListManifest(
            iss: configuration.publicURL, listId: id, name: list.name, version: number, seq: list.lastSeq,
            feedCursor: Cursor.encode(list.lastSeq), entryCount: entryCount, createdAt: now,
            expiresAt: now.addingTimeInterval(settings.manifestLifetime), minPollSeconds: settings.minPollSeconds,
            tombstoneRetentionDays: settings.tombstoneRetentionDays,
            previousManifestSha256: latest.map { sha256Hex($0.manifest) }, exports: digests, kind: list.kind)
        let payload = try manifest.canonicalJSON()
        let version = HashListVersion(
            listId: id, version: number, seq: list.lastSeq, entryCount: entryCount, createdAt: now,
            expiresAt: manifest.expiresAt, manifest: payload, jws: try sign(payload))
        if try await store.insertHashListVersion(version) {
            logger.info(
                "hash list published",
                metadata: ["list_id": "\(id)", "version": "\(number)", "entries": "\(entryCount)"])
            return (version, true)
        }
        // Another instance published this number first; theirs stands.
        guard let theirs = try await store.hashListVersion(id, number: number) else {
            throw GatewayError.conflict("version \(number) of \(id) was being published elsewhere; retry")
        }
        return (theirs, false)
    }

    /// A version by `latest` or number, of a list the caller may see.
    public func hashListVersion(_ id: HashListID, _ reference: String, for principal: Principal) async throws
        -> (HashList, HashListVersion)
    {
        let list = try await hashList(id, for: principal)
        return (list, try await version(of: list, reference))
    }

    /// A version of a list by `latest` or number.
    public func version(of list: HashList, _ reference: String) async throws -> HashListVersion {
        var number: Int?
        if reference != "latest" {
            guard let parsed = Int(reference), parsed >= 1, String(parsed) == reference else {
                throw GatewayError.notFound("version \(reference) of hash list \(list.id)")
            }
            number = parsed
        }
        guard let version = try await store.hashListVersion(list.id, number: number) else {
            throw GatewayError.notFound("version \(reference) of hash list \(list.id)")
        }
        return version
    }

    /// A list by name or id, for the command line.
    public func hashList(named name: String) async throws -> HashList {
        if let id = HashListID.parse(name) { return try await hashList(id) }
        guard let list = try await store.hashLists(grantedTo: nil).first(where: { $0.name == name }) else {
            throw GatewayError.notFound("hash list \(name)")
        }
        return list
    }

    public func hashListVersions(_ id: HashListID, for principal: Principal) async throws -> (
        HashList, [HashListVersion]
    ) {
        let list = try await hashList(id, for: principal)
        return (list, try await store.hashListVersions(id))
    }

    /// Streams one export of a version to `sink` in pieces; the bytes are those the manifest describes.
    public func writeExport(
        of version: HashListVersion, list: HashList, kind: ExportKind,
        to sink: (_ bytes: [UInt8]) async throws -> Void
    ) async throws {
        try checkExportable(version, of: list)
        var exporter = HashListExporter(kind: kind, list: list, source: configuration.issuer.organisation)
        try await sink(exporter.header())
        var buffer: [UInt8] = []
        try await forEachChunk(of: list, at: version.seq) { records in
            buffer.removeAll(keepingCapacity: true)
            for record in records { exporter.write(record, to: &buffer) }
            try await sink(buffer)
        }
        try await sink(exporter.footer())
    }

    /// A version from before compacted tombstones can no longer be rebuilt: 410, pointing to the latest.
    public func checkExportable(_ version: HashListVersion, of list: HashList) throws {
        guard version.seq >= list.purgedThrough else {
            throw GatewayError.gone(
                "version \(version.version) of \(list.id) predates compacted tombstones; download the latest version")
        }
    }

    /// The export kinds a version offers, checked against a request's `format` and `hash`.
    public func exportKind(of version: HashListVersion, format: String?, hash: String?) throws -> ExportKind {
        guard let format, let parsed = ExportFormat(rawValue: format) else {
            throw GatewayError.badParameter(name: "format", reason: "must be one of: ndjson, csv, text, vics")
        }
        let manifest = try WireFormat.decoder().decode(HashListManifest.self, from: version.manifest)
        var hashType: HashType?
        if let hash {
            guard parsed == .text else {
                throw GatewayError.badParameter(name: "hash", reason: "only selects the hash of the text format")
            }
            guard let type = HashType(rawValue: hash) else {
                throw GatewayError.badParameter(name: "hash", reason: "must be one of: md5, sha1, sha256, pdq")
            }
            hashType = type
        } else if parsed == .text {
            hashType = manifest.exports.first { $0.format == .text }?.hash
        }
        let kind = ExportKind(format: parsed, hash: hashType)
        guard manifest.export(kind) != nil else {
            throw GatewayError.badParameter(
                name: parsed == .text ? "hash" : "format", reason: "names an export this list does not offer")
        }
        return kind
    }

    /// Runs `body` over the entries live at `seq`, a chunk at a time, oldest change first.
    func forEachChunk(of list: HashList, at seq: Int64, _ body: ([HashListRecord]) async throws -> Void)
        async throws
    {
        var after: Int64 = 0
        while true {
            let records = try await store.hashListRecords(list.id, after: after, liveAt: seq, limit: Self.exportChunk)
            if !records.isEmpty { try await body(records) }
            guard records.count == Self.exportChunk, let last = records.last else { return }
            after = last.change.seq
        }
    }
}
