import Foundation
import GRDB
import TakedownModel
import TakedownStore

extension SQLiteStore {
    public func recordHashListDownload(_ download: HashListDownload) async throws {
        try await guarded {
            try await write { db in
                try db.execute(
                    sql: """
                        INSERT INTO hash_list_downloads
                            (list_id, version, format, hash, partner_id, token_id, actor, bytes, gzip, at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        download.listId.rawValue, download.version, download.format, download.hash?.rawValue,
                        download.partnerId?.rawValue, download.tokenId.rawValue, download.actor, download.bytes,
                        download.gzip, download.at.storedValue,
                    ])
            }
        }
    }

    public func hashListDownloads(_ list: HashListID, after position: Int64, limit: Int) async throws
        -> [(position: Int64, download: HashListDownload)]
    {
        try await guarded {
            try await pool.read { db in
                try Row.fetchAll(
                    db,
                    sql:
                        "SELECT * FROM hash_list_downloads WHERE list_id = ? AND position > ? ORDER BY position LIMIT ?",
                    arguments: [list.rawValue, position, limit]
                ).map { row in
                    let download = HashListDownload(
                        listId: list, version: row["version"], format: row["format"],
                        hash: (row["hash"] as String?).flatMap(HashType.init(rawValue:)),
                        partnerId: (row["partner_id"] as String?).map(PartnerID.init(rawValue:)),
                        tokenId: TokenID(rawValue: row["token_id"]), actor: row["actor"], bytes: row["bytes"],
                        gzip: row["gzip"], at: Date(stored: row["at"]))
                    return (row["position"], download)
                }
            }
        }
    }

    public func insertHashListFeedback(_ feedback: HashListFeedback) async throws {
        try await guarded {
            try await write { db in
                try db.execute(
                    sql: """
                        INSERT INTO hash_list_feedback (id, list_id, entry_id, partner_id, verdict, comment, created_at, status)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        feedback.id.rawValue, feedback.listId.rawValue, feedback.entryId.rawValue,
                        feedback.partnerId?.rawValue, feedback.verdict.rawValue, feedback.comment,
                        feedback.createdAt.storedValue, feedback.status.rawValue,
                    ])
            }
        }
    }

    public func hashListFeedback(
        _ list: HashListID, status: HashListFeedback.Status?, partner: PartnerID?, after position: Int64, limit: Int
    ) async throws -> [(position: Int64, feedback: HashListFeedback)] {
        let listing = HashListFeedback.listing(list, status: status, partner: partner, after: position, limit: limit)
        return try await guarded {
            try await pool.read { db in
                try Row.fetchAll(db, listing).map { row in
                    (position: row["position"] as Int64, feedback: Self.feedback(from: row))
                }
            }
        }
    }

    public func resolveHashListFeedback(
        _ list: HashListID, _ id: FeedbackID, deleteWith reason: DeletionReason?, note: String?, by actor: String,
        at now: Date
    ) async throws -> HashListFeedback {
        try await guarded {
            try await write { db in
                guard
                    let row = try Row.fetchOne(
                        db, sql: "SELECT * FROM hash_list_feedback WHERE id = ? AND list_id = ?",
                        arguments: [id.rawValue, list.rawValue])
                else { throw StoreError.notFound }
                let feedback = Self.feedback(from: row)
                guard feedback.status == .open else {
                    throw StoreError.conflict("feedback \(id) was resolved already (\(feedback.status.rawValue))")
                }
                if let reason {
                    guard
                        let listRow = try Row.fetchOne(
                            db, sql: Self.listSelect + " WHERE l.id = ?", arguments: [list.rawValue])
                    else { throw StoreError.notFound }
                    var log = try HashListLog(list, db)
                    _ = try log.apply(
                        .delete(feedback.entryId, reason), rules: try Self.hashList(from: listRow, db), at: now, db)
                    try log.save(db)
                    try db.execute(
                        sql: """
                            UPDATE hash_list_feedback SET status = 'deleted', resolved_at = ?, resolved_by = ?, note = ?
                            WHERE list_id = ? AND entry_id = ? AND status = 'open'
                            """,
                        arguments: [now.storedValue, actor, note, list.rawValue, feedback.entryId.rawValue])
                } else {
                    try db.execute(
                        sql: """
                            UPDATE hash_list_feedback SET status = 'kept', resolved_at = ?, resolved_by = ?, note = ?
                            WHERE id = ?
                            """,
                        arguments: [now.storedValue, actor, note, id.rawValue])
                }
                return Self.feedback(
                    from: try Row.fetchOne(
                        db, sql: "SELECT * FROM hash_list_feedback WHERE id = ?", arguments: [id.rawValue])!)
            }
        }
    }

    static func feedback(from row: Row) -> HashListFeedback {
        var feedback = HashListFeedback(
            id: FeedbackID(rawValue: row["id"]), listId: HashListID(rawValue: row["list_id"]),
            entryId: HashEntryID(rawValue: row["entry_id"]),
            partnerId: (row["partner_id"] as String?).map(PartnerID.init(rawValue:)),
            verdict: HashListFeedback.Verdict(rawValue: row["verdict"]) ?? .confirmed, comment: row["comment"],
            createdAt: Date(stored: row["created_at"]),
            status: HashListFeedback.Status(rawValue: row["status"]) ?? .open)
        feedback.resolvedAt = (row["resolved_at"] as Double?).map(Date.init(stored:))
        feedback.resolvedBy = row["resolved_by"]
        feedback.note = row["note"]
        return feedback
    }
}
