import Foundation
import PostgresNIO
import TakedownModel
import TakedownStore

/// URL lists: a notice's URLs join the lists that take its case's grade as it is issued, and leave when
/// verification finds them gone or the notice is withdrawn, in the notice's own transaction.
///
/// A case's notices join in `contribute`, with its files, so issuing costs no extra round trip. A notice
/// issued later (a hand route, a police hold's release) joins through `enterURLs`, which holds the case
/// counter (shared) first, as case writes and list creation take it first: a list created meanwhile either
/// commits first and is seen, or waits and takes the notice in from the table.
extension PostgresStore {
    static let urlListSchema = [
        "ALTER TABLE hash_lists ADD COLUMN kind text NOT NULL DEFAULT 'hashes'",
        "ALTER TABLE hash_list_changes ADD COLUMN url text",
    ]

    /// The URL lists and the grades each takes.
    static func urlLists(_ transaction: Transaction) async throws -> [(id: HashListID, grades: [UKGrade])] {
        try await transaction.rows("SELECT id, uk_grades FROM hash_lists WHERE kind = 'urls' ORDER BY position").map {
            (HashListID(rawValue: try $0.get("id")), try StoredJSON.decode([UKGrade].self, try $0.get("uk_grades")))
        }
    }

    /// Puts notices issued after their case on every URL list that takes the case's grade.
    static func enterURLs(of notices: [Notice], caseID: CaseID, _ transaction: Transaction) async throws {
        _ = try await transaction.rows("SELECT value FROM counters WHERE name = 'cases' FOR SHARE")
        let lists = try await urlLists(transaction)
        guard !lists.isEmpty,
            let row = try await transaction.rows(
                "SELECT uk_grade, classification, media_type FROM cases WHERE id = \(caseID.rawValue)"
            ).first
        else { return }
        let category = try PostgresHashListLog.category(from: row)
        let media = MediaType(rawValue: try row.get("media_type")) ?? .image
        for list in lists where list.grades.contains(category.ukGrade) {
            var log = try await PostgresHashListLog(list.id, transaction)
            for notice in notices {
                let drafts = HashEntryDraft.urls(
                    of: [notice], caseID: caseID, category: category, mediaType: media, grades: list.grades)
                for draft in drafts { try await log.enter(draft, at: notice.issuedAt, transaction) }
            }
            try await log.save(transaction)
        }
    }

    /// Moves a written notice's URLs on every URL list as the notice now stands.
    static func standURLs(of notice: Notice, _ transaction: Transaction) async throws {
        let lists = try await urlLists(transaction)
        guard !lists.isEmpty else { return }
        let at = notice.timeline.last?.at ?? notice.issuedAt
        for list in lists {
            var log = try await PostgresHashListLog(list.id, transaction)
            for (item, standing) in zip(notice.items, notice.urlListStanding) {
                let when = standing.leaving == .gone ? (item.verifiedAt ?? at) : at
                try await log.stand(HashEntryDraft.urlKey(item.url), leaving: standing.leaving, at: when, transaction)
            }
            try await log.save(transaction)
        }
    }

    /// Every stored notice's live URLs, for a new URL list, oldest notice first, a page at a time.
    static func backfillURLs(_ list: HashList, _ transaction: Transaction) async throws {
        var log = try await PostgresHashListLog(list.id, transaction)
        var after: Int64 = 0
        while true {
            let rows = try await transaction.rows(
                """
                SELECT n.position, n.case_id, n.status, n.items, n.issued_at, c.uk_grade, c.classification,
                       c.media_type
                FROM notices n JOIN cases c ON c.id = n.case_id
                WHERE n.position > \(after) AND n.status NOT IN ('withdrawn', 'verified')
                ORDER BY n.position LIMIT 500
                """)
            guard let last = rows.last else { break }
            after = try last.get("position")
            for row in rows {
                let category = try PostgresHashListLog.category(from: row)
                guard list.include.ukGrades.contains(category.ukGrade) else { continue }
                let items = try StoredJSON.decode([NoticeItem].self, try row.get("items", as: String.self))
                let status = NoticeStatus(rawValue: try row.get("status")) ?? .issued
                for (url, leaving) in Notice.urlListStanding(status: status, items: items) where leaving == nil {
                    let draft = HashEntryDraft.url(
                        url, mediaType: MediaType(rawValue: try row.get("media_type")) ?? .image,
                        classification: category, caseId: CaseID(rawValue: try row.get("case_id")))
                    try await log.enter(draft, at: try row.date("issued_at"), transaction)
                }
            }
        }
        try await log.save(transaction)
    }
}
