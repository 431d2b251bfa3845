import Foundation
import TakedownModel

/// The hash list part of the fixture (from v4) and the clocks part (from v5): what is read back, and the rows.
extension UpgradeFixture {
    static var expectedHashList: HashList {
        var list = HashList(
            id: Self.list, name: "upgrade-list", audience: .hostingProvider, hashTypes: [.md5, .sha256],
            include: HashListInclusion(ukGrades: [.a, .b]), partners: [hosting], createdAt: at(0), updatedAt: at(3))
        list.lastSeq = 3
        list.entryCount = 1
        list.latestVersion = 1
        return list
    }

    /// A live entry from the first case, and one added by hand and deleted since.
    static var expectedEntries: [HashListEntry] {
        let fromCase = itemHashes[0]
        let byHand = itemHashes[4]
        return [
            HashListEntry(
                id: entries[0], listId: list, number: 1, mediaType: .image,
                hashes: Hashes(md5: fromCase.md5, sha256: fromCase.sha256),
                classification: Category(ukGrade: .a, classification: .a1), caseId: cases[0], createdAt: at(0),
                updatedAt: at(0), seq: 1),
            HashListEntry(
                id: entries[1], listId: list, number: 2, mediaType: .image,
                hashes: Hashes(md5: byHand.md5, sha256: byHand.sha256), classification: Category(ukGrade: .b),
                caseId: nil, createdAt: at(2), updatedAt: at(3), deletedAt: at(3), deletionReason: .falsePositive,
                seq: 3),
        ]
    }

    /// The change log, each change with the sequence number that superseded it.
    static var expectedRecords: [(HashListRecord, Int64?)] {
        let entries = expectedEntries
        var added = entries[1]
        added.updatedAt = at(2)
        added.deletedAt = nil
        added.deletionReason = nil
        added.seq = 2
        let log: [(HashListEntry, Int64?)] = [(entries[0], nil), (added, 3), (entries[1], nil)]
        return log.map { entry, supersededBy in
            let change = HashListChange(entry)
            return (HashListRecord(change: change, number: entry.number, line: try! change.line()), supersededBy)
        }
    }

    static var expectedVersion: HashListVersion {
        HashListVersion(
            listId: list, version: 1, seq: 2, entryCount: 2, createdAt: at(3), expiresAt: at(3 + 7 * day),
            manifest: Data(#"{"list":"upgrade-list","version":1}"#.utf8), jws: "eyJhbGciOiJFZERTQSJ9.bWFuaWZlc3Q.c2ln")
    }

    static var expectedDownload: HashListDownload {
        HashListDownload(
            listId: list, version: 1, format: "ndjson", hash: nil, partnerId: hosting, tokenId: partnerToken,
            actor: "partner:\(hosting)", bytes: 512, gzip: true, at: at(4))
    }

    static var expectedFeedback: HashListFeedback {
        HashListFeedback(
            id: feedback, listId: list, entryId: entries[0], partnerId: hosting, verdict: .confirmed,
            comment: "seen it", createdAt: at(5))
    }

    static var expectedPolicy: SLAPolicy {
        SLAPolicy(
            id: policy, name: "fast", deadlineSeconds: 3600,
            ladder: [SLAStep(afterSeconds: 600, action: .reminder), SLAStep(afterSeconds: 1800, action: .escalation)],
            escalationPartnerId: police, createdAt: at(-100))
    }

    static var expectedCheck: VerificationCheck {
        VerificationCheck(
            noticeId: notices[0], url: urls[0], checkedAt: at(1), httpStatus: 200, outcome: .stillServed, error: nil)
    }

    /// A list with a live entry from a case and a deleted one, a published version, a download and feedback.
    static func hashListRows() -> [Row] {
        let list = expectedHashList
        var rows = [
            Row(
                "hash_lists",
                [
                    ("id", .text(list.id.rawValue)), ("name", .text(list.name)),
                    ("audience", .text(list.audience.rawValue)),
                    ("hash_types", .text(#"["md5","sha256"]"#)), ("uk_grades", .text(#"["A","B"]"#)),
                    ("created_at", .real(list.createdAt.timeIntervalSince1970)),
                    ("updated_at", .real(list.updatedAt.timeIntervalSince1970)), ("last_seq", .integer(list.lastSeq)),
                    ("purged_through", .integer(0)), ("entry_count", .integer(Int64(list.entryCount))),
                ]),
            Row("hash_list_grants", [("list_id", .text(list.id.rawValue)), ("partner_id", .text(hosting.rawValue))]),
        ]
        for entry in expectedEntries {
            rows.append(
                Row(
                    "hash_list_entries",
                    [
                        ("list_id", .text(list.id.rawValue)), ("number", .integer(entry.number)),
                        ("id", .text(entry.id.rawValue)), ("key", .text("sha256:\(entry.hashes.sha256!)")),
                        ("case_id", entry.caseId.map { .text($0.rawValue) } ?? .null),
                        ("created_at", .real(entry.createdAt.timeIntervalSince1970)),
                        ("deleted_at", entry.deletedAt.map { .real($0.timeIntervalSince1970) } ?? .null),
                        ("seq", .integer(entry.seq)),
                    ]))
        }
        for (record, supersededBy) in expectedRecords {
            let change = record.change
            rows.append(
                Row(
                    "hash_list_changes",
                    [
                        ("list_id", .text(list.id.rawValue)), ("seq", .integer(change.seq)),
                        ("entry_number", .integer(record.number)), ("entry_id", .text(change.entryId.rawValue)),
                        ("op", .text(change.op.rawValue)),
                        ("superseded_by", supersededBy.map { .integer($0) } ?? .null),
                        ("media_type", .text(change.mediaType.rawValue)), ("md5", .text(change.hashes.md5!)),
                        ("sha256", .text(change.hashes.sha256!)),
                        ("uk_grade", .text(change.classification.ukGrade.rawValue)),
                        ("classification", change.classification.classification.map { .text($0.rawValue) } ?? .null),
                        ("updated_at", .real(change.updatedAt.timeIntervalSince1970)),
                        ("reason", change.reason.map { .text($0.rawValue) } ?? .null), ("line", .blob(record.line)),
                    ]))
        }
        let version = expectedVersion
        rows.append(
            Row(
                "hash_list_versions",
                [
                    ("list_id", .text(list.id.rawValue)), ("version", .integer(Int64(version.version))),
                    ("seq", .integer(version.seq)), ("entry_count", .integer(Int64(version.entryCount))),
                    ("created_at", .real(version.createdAt.timeIntervalSince1970)),
                    ("expires_at", .real(version.expiresAt.timeIntervalSince1970)),
                    ("manifest", .blob(version.manifest)),
                    ("jws", .text(version.jws)),
                ]))
        let download = expectedDownload
        rows.append(
            Row(
                "hash_list_downloads",
                [
                    ("list_id", .text(list.id.rawValue)), ("version", .integer(Int64(download.version))),
                    ("format", .text(download.format)), ("hash", .null), ("partner_id", .text(hosting.rawValue)),
                    ("token_id", .text(partnerToken.rawValue)), ("actor", .text(download.actor)),
                    ("bytes", .integer(download.bytes)), ("gzip", .bool(download.gzip)),
                    ("at", .real(download.at.timeIntervalSince1970)),
                ]))
        let opinion = expectedFeedback
        rows.append(
            Row(
                "hash_list_feedback",
                [
                    ("id", .text(opinion.id.rawValue)), ("list_id", .text(list.id.rawValue)),
                    ("entry_id", .text(opinion.entryId.rawValue)), ("partner_id", .text(hosting.rawValue)),
                    ("verdict", .text(opinion.verdict.rawValue)), ("comment", .text(opinion.comment!)),
                    ("created_at", .real(opinion.createdAt.timeIntervalSince1970)), ("status", .text("open")),
                ]))
        return rows
    }

    /// A policy of its own (escalating to the police partner) and one verification check.
    static func clockRows() -> [Row] {
        let check = expectedCheck
        return [
            Row(
                "sla_policies",
                [
                    ("id", .text(policy.rawValue)), ("name", .text("fast")), ("deadline_seconds", .integer(3600)),
                    (
                        "ladder",
                        .text(
                            #"[{"action":"reminder","afterSeconds":600},{"action":"escalation","afterSeconds":1800}]"#)
                    ),
                    ("escalation_partner_id", .text(police.rawValue)), ("created_at", time(-100)),
                ]),
            Row(
                "verification_checks",
                [
                    ("notice_id", .text(check.noticeId.rawValue)), ("url", .text(check.url)),
                    ("checked_at", .real(check.checkedAt.timeIntervalSince1970)),
                    ("http_status", .integer(Int64(check.httpStatus!))), ("outcome", .text(check.outcome.rawValue)),
                    ("error", .null), ("redirects", .integer(0)), ("final_url", .text(check.finalUrl)),
                ]),
        ]
    }
}
