import Foundation
import GRDB
import TakedownModel
import TakedownStore

extension SQLiteStore {
    public func insertHashList(_ list: HashList) async throws {
        let types = try StoredJSON.encode(list.hashTypes)
        let grades = try StoredJSON.encode(list.include.ukGrades)
        try await guarded {
            try await write { db in
                try db.execute(
                    sql: """
                        INSERT INTO hash_lists (id, name, kind, audience, hash_types, uk_grades, created_at,
                                                updated_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        list.id.rawValue, list.name, list.kind.rawValue, list.audience.rawValue, types, grades,
                        list.createdAt.storedValue, list.updatedAt.storedValue,
                    ])
                try Self.replaceGrants(list, db)
                switch list.kind {
                case .hashes: try Self.backfill(list, db)
                case .urls: try Self.backfillURLs(list, db)
                }
            }
        }
    }

    public func hashList(_ id: HashListID) async throws -> HashList? {
        try await guarded {
            try await pool.read { db in
                try Row.fetchOne(db, sql: Self.listSelect + " WHERE l.id = ?", arguments: [id.rawValue])
                    .map { try Self.hashList(from: $0, db) }
            }
        }
    }

    public func hashLists(grantedTo partner: PartnerID?) async throws -> [HashList] {
        try await guarded {
            try await pool.read { db in
                let rows: [Row]
                if let partner {
                    rows = try Row.fetchAll(
                        db,
                        sql: Self.listSelect
                            + " JOIN hash_list_grants g ON g.list_id = l.id WHERE g.partner_id = ? ORDER BY l.position",
                        arguments: [partner.rawValue])
                } else {
                    rows = try Row.fetchAll(db, sql: Self.listSelect + " ORDER BY l.position")
                }
                return try rows.map { try Self.hashList(from: $0, db) }
            }
        }
    }

    public func updateHashList(_ list: HashList) async throws {
        try await guarded {
            try await write { db in
                try db.execute(
                    sql: "UPDATE hash_lists SET name = ?, updated_at = ? WHERE id = ?",
                    arguments: [list.name, list.updatedAt.storedValue, list.id.rawValue])
                if db.changesCount == 0 { throw StoreError.notFound }
                try Self.replaceGrants(list, db)
            }
        }
    }

    static let listSelect = """
        SELECT l.*, (SELECT MAX(version) FROM hash_list_versions v WHERE v.list_id = l.id) AS latest_version
        FROM hash_lists l
        """

    static func hashList(from row: Row, _ db: Database) throws -> HashList {
        let id: String = row["id"]
        var list = HashList(
            id: HashListID(rawValue: id), name: row["name"], kind: HashListKind(rawValue: row["kind"]) ?? .hashes,
            audience: HashListAudience(rawValue: row["audience"]) ?? .hostingProvider,
            hashTypes: try StoredJSON.decode([HashType].self, row["hash_types"]),
            include: HashListInclusion(ukGrades: try StoredJSON.decode([UKGrade].self, row["uk_grades"])),
            partners: try String.fetchAll(
                db, sql: "SELECT partner_id FROM hash_list_grants WHERE list_id = ? ORDER BY partner_id",
                arguments: [id]
            ).map(PartnerID.init(rawValue:)),
            createdAt: Date(stored: row["created_at"]), updatedAt: Date(stored: row["updated_at"]))
        list.lastSeq = row["last_seq"]
        list.purgedThrough = row["purged_through"]
        list.entryCount = row["entry_count"]
        list.latestVersion = row["latest_version"]
        return list
    }

    static func replaceGrants(_ list: HashList, _ db: Database) throws {
        try db.execute(sql: "DELETE FROM hash_list_grants WHERE list_id = ?", arguments: [list.id.rawValue])
        for partner in Set(list.partners) {
            try db.execute(
                sql: "INSERT INTO hash_list_grants (list_id, partner_id) VALUES (?, ?)",
                arguments: [list.id.rawValue, partner.rawValue])
        }
    }

    /// Every stored case's contribution to a new list, oldest case first.
    static func backfill(_ list: HashList, _ db: Database) throws {
        var log = try HashListLog(list.id, db)
        let cases = try Row.fetchCursor(db, sql: "SELECT * FROM cases ORDER BY position")
        while let row = try cases.next() {
            let record = try caseRecord(from: row, db)
            for item in record.items {
                if let draft = HashEntryDraft.from(item, of: record, for: list) {
                    try log.add(draft, restoring: false, at: record.createdAt, db)
                }
            }
        }
        try log.save(db)
    }

    /// Adds a new case's files to every list whose rules take them, in the case's own transaction.
    static func contribute(_ record: Case, _ db: Database) throws {
        let rows = try Row.fetchAll(db.cachedStatement(sql: listSelect))
        guard !rows.isEmpty else { return }
        for row in rows {
            let list = try hashList(from: row, db)
            let drafts = record.items.compactMap { HashEntryDraft.from($0, of: record, for: list) }
            guard !drafts.isEmpty else { continue }
            var log = try HashListLog(list.id, db)
            for draft in drafts { try log.add(draft, restoring: false, at: record.createdAt, db) }
            try log.save(db)
        }
    }
}
