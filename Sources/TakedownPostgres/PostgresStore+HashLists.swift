import Foundation
import PostgresNIO
import TakedownModel
import TakedownStore

extension PostgresStore {
    public func insertHashList(_ list: HashList) async throws {
        let types = try StoredJSON.encode(list.hashTypes)
        let grades = try StoredJSON.encode(list.include.ukGrades)
        try await transaction { transaction in
            // Holding the case counter keeps cases out while the list takes in those stored: a case committed
            // before is read below, one committed after finds this list in `contribute`.
            _ = try await transaction.rows("SELECT value FROM counters WHERE name = 'cases' FOR UPDATE")
            try await transaction.run(
                """
                INSERT INTO hash_lists (id, name, kind, audience, hash_types, uk_grades, created_at, updated_at)
                VALUES (\(list.id.rawValue), \(list.name), \(list.kind.rawValue), \(list.audience.rawValue), \(types),
                        \(grades), \(list.createdAt.stored), \(list.updatedAt.stored))
                """)
            try await Self.replaceGrants(list, transaction)
            switch list.kind {
            case .hashes: try await Self.backfill(list, transaction)
            case .urls: try await Self.backfillURLs(list, transaction)
            }
        }
    }

    public func hashList(_ id: HashListID) async throws -> HashList? {
        try await Self.hashLists(Self.listSelect + " WHERE l.id = $1", id.rawValue, self).first
    }

    public func hashLists(grantedTo partner: PartnerID?) async throws -> [HashList] {
        if let partner {
            return try await Self.hashLists(
                Self.listSelect
                    + " JOIN hash_list_grants g ON g.list_id = l.id WHERE g.partner_id = $1 ORDER BY l.position",
                partner.rawValue, self)
        }
        return try await Self.hashLists(Self.listSelect + " ORDER BY l.position", nil, self)
    }

    public func updateHashList(_ list: HashList) async throws {
        try await transaction { transaction in
            let changed = try await transaction.count(
                """
                UPDATE hash_lists SET name = \(list.name), updated_at = \(list.updatedAt.stored)
                WHERE id = \(list.id.rawValue) RETURNING 1
                """)
            if changed == 0 { throw StoreError.notFound }
            try await Self.replaceGrants(list, transaction)
        }
    }

    static let listSelect = """
        SELECT l.*, (SELECT MAX(version) FROM hash_list_versions v WHERE v.list_id = l.id) AS latest_version,
               ARRAY(SELECT partner_id FROM hash_list_grants g WHERE g.list_id = l.id ORDER BY partner_id) AS grantees
        FROM hash_lists l
        """

    /// Lists read by a `listSelect` query with at most one text parameter.
    static func hashLists(_ sql: String, _ parameter: String?, _ source: some RowSource) async throws -> [HashList] {
        var bindings = PostgresBindings()
        if let parameter { bindings.append(parameter) }
        return try await source.rows(PostgresQuery(unsafeSQL: sql, binds: bindings)).map(hashList(from:))
    }

    static func hashList(from row: PostgresRandomAccessRow) throws -> HashList {
        var list = HashList(
            id: HashListID(rawValue: try row.get("id")), name: try row.get("name"),
            kind: HashListKind(rawValue: try row.get("kind")) ?? .hashes,
            audience: HashListAudience(rawValue: try row.get("audience")) ?? .hostingProvider,
            hashTypes: try StoredJSON.decode([HashType].self, try row.get("hash_types")),
            include: HashListInclusion(ukGrades: try StoredJSON.decode([UKGrade].self, try row.get("uk_grades"))),
            partners: try row.get("grantees", as: [String].self).map(PartnerID.init(rawValue:)),
            createdAt: try row.date("created_at"), updatedAt: try row.date("updated_at"))
        list.lastSeq = try row.get("last_seq")
        list.purgedThrough = try row.get("purged_through")
        list.entryCount = try row.get("entry_count")
        list.latestVersion = try row.get("latest_version", as: Int?.self)
        return list
    }

    static func replaceGrants(_ list: HashList, _ transaction: Transaction) async throws {
        try await transaction.run("DELETE FROM hash_list_grants WHERE list_id = \(list.id.rawValue)")
        let partners = Set(list.partners).map(\.rawValue).sorted()
        guard !partners.isEmpty else { return }
        try await transaction.run(
            """
            INSERT INTO hash_list_grants (list_id, partner_id)
            SELECT \(list.id.rawValue), unnest(\(partners)::text[])
            """)
    }

    /// Every stored case's contribution to a new list, oldest case first, a page of cases at a time.
    static func backfill(_ list: HashList, _ transaction: Transaction) async throws {
        var log = try await PostgresHashListLog(list.id, transaction)
        var after: Int64 = 0
        while true {
            let rows = try await transaction.rows(
                "SELECT * FROM cases WHERE position > \(after) ORDER BY position LIMIT 500")
            guard let last = rows.last else { break }
            after = try last.get("position")
            for record in try await caseRecords(rows, transaction) {
                for item in record.items {
                    if let draft = HashEntryDraft.from(item, of: record, for: list) {
                        try await log.add(draft, restoring: false, at: record.createdAt, transaction)
                    }
                }
            }
        }
        try await log.save(transaction)
    }

    /// Adds new cases' files, and their issued notices' URLs, to every list whose rules take them, in the
    /// cases' own transaction, case by case in the order given: a handful of statements per list, however
    /// many cases.
    static func contribute(_ cases: [(Case, [Notice])], _ transaction: Transaction) async throws {
        for list in try await hashLists(listSelect + " ORDER BY l.position", nil, transaction) {
            let drafts = cases.map { record, notices in
                let drafts =
                    switch list.kind {
                    case .hashes: record.items.compactMap { HashEntryDraft.from($0, of: record, for: list) }
                    case .urls:
                        HashEntryDraft.urls(
                            of: notices, caseID: record.id, category: record.category, mediaType: record.mediaType,
                            grades: list.include.ukGrades)
                    }
                return (record.createdAt, drafts)
            }
            guard drafts.contains(where: { !$0.1.isEmpty }) else { continue }
            var log = try await PostgresHashListLog(list.id, transaction)
            try await log.contribute(
                drafts.flatMap { at, caseDrafts in caseDrafts.map { (at: at, draft: $0) } }, urls: list.kind == .urls,
                transaction)
            try await log.save(transaction)
        }
    }
}
