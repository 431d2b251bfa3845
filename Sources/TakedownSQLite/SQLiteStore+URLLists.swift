import Foundation
import GRDB
import TakedownModel
import TakedownStore

/// URL lists: a notice's URLs join the lists that take its case's grade as it is issued, and leave when
/// verification finds them gone or the notice is withdrawn, in the notice's own transaction.
extension SQLiteStore {
    static func registerURLLists(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v13-url-lists") { db in
            try db.execute(
                sql: """
                    ALTER TABLE hash_lists ADD COLUMN kind TEXT NOT NULL DEFAULT 'hashes';
                    ALTER TABLE hash_list_changes ADD COLUMN url TEXT;
                    """)
        }
    }

    /// The URL lists and the grades each takes.
    static func urlLists(_ db: Database) throws -> [(id: HashListID, grades: [UKGrade])] {
        try Row.fetchAll(
            try db.cachedStatement(sql: "SELECT id, uk_grades FROM hash_lists WHERE kind = 'urls' ORDER BY position")
        ).map { (HashListID(rawValue: $0["id"]), try StoredJSON.decode([UKGrade].self, $0["uk_grades"])) }
    }

    /// Puts a newly issued notice's URLs on every URL list that takes its case's grade.
    static func enterURLs(of notice: Notice, _ db: Database) throws {
        let lists = try urlLists(db)
        guard !lists.isEmpty,
            let row = try Row.fetchOne(
                try db.cachedStatement(sql: "SELECT uk_grade, classification, media_type FROM cases WHERE id = ?"),
                arguments: [notice.caseId.rawValue])
        else { return }
        let category = HashListLog.category(from: row)
        let media = MediaType(rawValue: row["media_type"]) ?? .image
        for list in lists {
            let drafts = HashEntryDraft.urls(
                of: [notice], caseID: notice.caseId, category: category, mediaType: media, grades: list.grades)
            guard !drafts.isEmpty else { continue }
            var log = try HashListLog(list.id, db)
            for draft in drafts { try log.enter(draft, at: notice.issuedAt, db) }
            try log.save(db)
        }
    }

    /// Moves a written notice's URLs on every URL list as the notice now stands.
    static func standURLs(of notice: Notice, _ db: Database) throws {
        let lists = try urlLists(db)
        guard !lists.isEmpty else { return }
        let at = notice.timeline.last?.at ?? notice.issuedAt
        for list in lists {
            var log = try HashListLog(list.id, db)
            for (item, standing) in zip(notice.items, notice.urlListStanding) {
                let when = standing.leaving == .gone ? (item.verifiedAt ?? at) : at
                try log.stand(HashEntryDraft.urlKey(item.url), leaving: standing.leaving, at: when, db)
            }
            try log.save(db)
        }
    }

    /// Every stored notice's live URLs, for a new URL list, oldest notice first.
    static func backfillURLs(_ list: HashList, _ db: Database) throws {
        var log = try HashListLog(list.id, db)
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT n.case_id, n.status, n.items, n.issued_at, c.uk_grade, c.classification, c.media_type
                FROM notices n JOIN cases c ON c.id = n.case_id
                WHERE n.status NOT IN ('withdrawn', 'verified') ORDER BY n.position
                """)
        while let row = try rows.next() {
            let category = HashListLog.category(from: row)
            guard list.include.ukGrades.contains(category.ukGrade) else { continue }
            let items = try StoredJSON.decode([NoticeItem].self, row["items"] as String)
            let status = NoticeStatus(rawValue: row["status"]) ?? .issued
            for (url, leaving) in Notice.urlListStanding(status: status, items: items) where leaving == nil {
                let draft = HashEntryDraft.url(
                    url, mediaType: MediaType(rawValue: row["media_type"]) ?? .image, classification: category,
                    caseId: CaseID(rawValue: row["case_id"]))
                try log.enter(draft, at: Date(stored: row["issued_at"]), db)
            }
        }
        try log.save(db)
    }
}
