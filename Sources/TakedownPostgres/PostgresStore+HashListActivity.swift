import Foundation
import PostgresNIO
import TakedownModel
import TakedownStore

extension PostgresStore {
    public func recordHashListDownload(_ download: HashListDownload) async throws {
        try await transaction { transaction in
            try await transaction.run(
                """
                INSERT INTO hash_list_downloads (list_id, version, format, hash, partner_id, token_id, actor, bytes, gzip, at)
                VALUES (\(download.listId.rawValue), \(download.version), \(download.format), \(download.hash?.rawValue),
                        \(download.partnerId?.rawValue), \(download.tokenId.rawValue), \(download.actor),
                        \(download.bytes), \(download.gzip), \(download.at.stored))
                """)
        }
    }

    public func hashListDownloads(_ list: HashListID, after position: Int64, limit: Int) async throws
        -> [(position: Int64, download: HashListDownload)]
    {
        try await rows(
            """
            SELECT * FROM hash_list_downloads WHERE list_id = \(list.rawValue) AND position > \(position)
            ORDER BY position LIMIT \(limit)
            """
        ).map { row in
            let download = HashListDownload(
                listId: list, version: try row.get("version"), format: try row.get("format"),
                hash: try row.get("hash", as: String?.self).flatMap(HashType.init(rawValue:)),
                partnerId: try row.get("partner_id", as: String?.self).map(PartnerID.init(rawValue:)),
                tokenId: TokenID(rawValue: try row.get("token_id")), actor: try row.get("actor"),
                bytes: try row.get("bytes"), gzip: try row.get("gzip"), at: try row.date("at"))
            return (try row.get("position"), download)
        }
    }

    public func insertHashListFeedback(_ feedback: HashListFeedback) async throws {
        try await transaction { transaction in
            try await transaction.run(
                """
                INSERT INTO hash_list_feedback (id, list_id, entry_id, partner_id, verdict, comment, created_at, status)
                VALUES (\(feedback.id.rawValue), \(feedback.listId.rawValue), \(feedback.entryId.rawValue),
                        \(feedback.partnerId?.rawValue), \(feedback.verdict.rawValue), \(feedback.comment),
                        \(feedback.createdAt.stored), \(feedback.status.rawValue))
                """)
        }
    }

    public func hashListFeedback(
        _ list: HashListID, status: HashListFeedback.Status?, partner: PartnerID?, after position: Int64, limit: Int
    ) async throws -> [(position: Int64, feedback: HashListFeedback)] {
        let listing = HashListFeedback.listing(list, status: status, partner: partner, after: position, limit: limit)
        return try await rows(listing.query).map { row in
            (position: try row.get("position"), feedback: try Self.feedback(from: row))
        }
    }

    public func resolveHashListFeedback(
        _ list: HashListID, _ id: FeedbackID, deleteWith reason: DeletionReason?, note: String?, by actor: String,
        at now: Date
    ) async throws -> HashListFeedback {
        try await transaction { transaction in
            guard
                let row = try await transaction.rows(
                    "SELECT * FROM hash_list_feedback WHERE id = \(id.rawValue) AND list_id = \(list.rawValue) FOR UPDATE"
                ).first
            else { throw StoreError.notFound }
            let feedback = try Self.feedback(from: row)
            guard feedback.status == .open else {
                throw StoreError.conflict("feedback \(id) was resolved already (\(feedback.status.rawValue))")
            }
            if let reason {
                guard
                    let rules = try await Self.hashLists(
                        Self.listSelect + " WHERE l.id = $1", list.rawValue, transaction
                    )
                    .first
                else { throw StoreError.notFound }
                var log = try await PostgresHashListLog(list, transaction)
                _ = try await log.apply(.delete(feedback.entryId, reason), rules: rules, at: now, transaction)
                try await log.save(transaction)
                try await transaction.run(
                    """
                    UPDATE hash_list_feedback SET status = 'deleted', resolved_at = \(now.stored), resolved_by = \(actor),
                           note = \(note)
                    WHERE list_id = \(list.rawValue) AND entry_id = \(feedback.entryId.rawValue) AND status = 'open'
                    """)
            } else {
                try await transaction.run(
                    """
                    UPDATE hash_list_feedback SET status = 'kept', resolved_at = \(now.stored), resolved_by = \(actor),
                           note = \(note)
                    WHERE id = \(id.rawValue)
                    """)
            }
            guard
                let resolved = try await transaction.rows(
                    "SELECT * FROM hash_list_feedback WHERE id = \(id.rawValue)"
                ).first
            else { throw StoreError.notFound }
            return try Self.feedback(from: resolved)
        }
    }

    static func feedback(from row: PostgresRandomAccessRow) throws -> HashListFeedback {
        var feedback = HashListFeedback(
            id: FeedbackID(rawValue: try row.get("id")), listId: HashListID(rawValue: try row.get("list_id")),
            entryId: HashEntryID(rawValue: try row.get("entry_id")),
            partnerId: try row.get("partner_id", as: String?.self).map(PartnerID.init(rawValue:)),
            verdict: HashListFeedback.Verdict(rawValue: try row.get("verdict")) ?? .confirmed,
            comment: try row.get("comment"), createdAt: try row.date("created_at"),
            status: HashListFeedback.Status(rawValue: try row.get("status")) ?? .open)
        feedback.resolvedAt = try row.optionalDate("resolved_at")
        feedback.resolvedBy = try row.get("resolved_by")
        feedback.note = try row.get("note")
        return feedback
    }
}
