import Foundation
import TakedownModel

extension UpgradeFixture {
    /// Three notices to one provider, with their timelines: one acknowledged (and, from v3, reminded
    /// once), one removed, one withdrawn.
    static func noticeRows(_ level: Int) -> [Row] {
        var rows: [Row] = []
        for (index, notice) in expectedNotices(level).enumerated() {
            var columns: [(String, Value)] = [
                ("position", .integer(notice.position)), ("id", .text(notice.id.rawValue)),
                ("case_id", .text(notice.caseId.rawValue)), ("partner_id", .text(notice.partnerId.rawValue)),
                ("status", .text(notice.status.rawValue)), ("issued_at", .real(notice.issuedAt.timeIntervalSince1970)),
                ("deadline_at", .real(notice.deadlineAt.timeIntervalSince1970)),
                ("acknowledged_at", notice.acknowledgedAt.map { .real($0.timeIntervalSince1970) } ?? .null),
                ("removed_at", notice.removedAt.map { .real($0.timeIntervalSince1970) } ?? .null),
                ("items", .text(itemTexts[index])), ("document", .blob(notice.document)), ("jws", .text(notice.jws)),
            ]
            if level >= 3 {
                columns += [
                    ("sequence", .integer(Int64(notice.sequence))), ("ladder_step", .integer(Int64(notice.ladderStep))),
                ]
            }
            if level >= 5 {
                columns += [
                    ("sla_policy_id", .text(notice.slaPolicyId.rawValue)),
                    ("verify_due_at", notice.verifyDueAt.map { .real($0.timeIntervalSince1970) } ?? .null),
                    ("verify_claim", .integer(index == 0 ? 1 : 0)),
                ]
            }
            rows.append(Row("notices", columns))
            for event in notice.timeline {
                rows.append(
                    Row(
                        "notice_events",
                        [
                            ("notice_id", .text(notice.id.rawValue)), ("at", .real(event.at.timeIntervalSince1970)),
                            ("event", .text(event.event)), ("actor", .text(event.actor)),
                            ("detail", event.detail.map { .text($0) } ?? .null),
                        ]))
            }
        }
        return rows
    }

    /// The items columns as the v1 encoder wrote them (sorted keys, escaped slashes, seconds since 1970).
    static let itemTexts = [
        #"[{"url":"https:\/\/upgrade.test\/a.jpg"}]"#,
        #"[{"action":"removed","removedAt":1800007200,"url":"https:\/\/upgrade.test\/c.mp4"}]"#,
        #"[{"url":"https:\/\/upgrade.test\/d.jpg"}]"#,
    ]

    /// Deliveries in each state, with attempts, endpoint health and a webhook secret stored in the clear.
    static func outboxRows(_ level: Int, _ dialect: Dialect) -> [Row] {
        var rows: [Row] = []
        for delivery in expectedDeliveries(level) {
            rows.append(
                Row(
                    "deliveries",
                    [
                        ("id", .text(delivery.id.rawValue)), ("notice_id", .text(delivery.noticeId.rawValue)),
                        ("partner_id", .text(delivery.partnerId.rawValue)),
                        ("channel", .text(delivery.channel.rawValue)),
                        ("endpoint", .text(delivery.endpoint)), ("event_type", .text(delivery.eventType)),
                        ("event_id", .text(delivery.eventId)), ("payload", .blob(delivery.payload)),
                        ("state", .text(delivery.state.rawValue)), ("attempts", .integer(Int64(delivery.attempts))),
                        ("next_attempt_at", .real(delivery.nextAttemptAt.timeIntervalSince1970)),
                        ("lease_token", .integer(delivery.leaseToken)),
                        ("lease_owner", delivery.leaseOwner.map { .text($0) } ?? .null),
                        ("lease_expires_at", delivery.leaseExpiresAt.map { .real($0.timeIntervalSince1970) } ?? .null),
                        ("last_error", delivery.lastError.map { .text($0) } ?? .null),
                        ("last_status", delivery.lastStatus.map { .integer(Int64($0)) } ?? .null),
                        ("created_at", .real(delivery.createdAt.timeIntervalSince1970)),
                        ("updated_at", .real(delivery.updatedAt.timeIntervalSince1970)),
                    ]))
        }
        for (delivery, attempt) in expectedAttempts(level) {
            rows.append(
                Row(
                    "delivery_attempts",
                    [
                        ("delivery_id", .text(delivery.rawValue)), ("number", .integer(Int64(attempt.number))),
                        ("at", .real(attempt.at.timeIntervalSince1970)),
                        ("status_code", attempt.statusCode.map { .integer(Int64($0)) } ?? .null),
                        ("latency_ms", .integer(Int64(attempt.latencyMs))),
                        ("error", attempt.error.map { .text($0) } ?? .null),
                        ("response_excerpt", attempt.responseExcerpt.map { .text($0) } ?? .null),
                    ]))
        }
        let health = expectedEndpoint(level)
        var endpoint: [(String, Value)] = [
            ("partner_id", .text(hosting.rawValue)), ("channel", .text("webhook")), ("endpoint", .text(webhook)),
            ("failing_since", health.failingSince.map { .real($0.timeIntervalSince1970) } ?? .null),
            ("last_success_at", health.lastSuccessAt.map { .real($0.timeIntervalSince1970) } ?? .null),
        ]
        if dialect == .postgres {
            // PostgreSQL keeps a row per endpoint from its first delivery on; SQLite from its first completion.
            endpoint.append(("attempted", .bool(true)))
            rows.append(
                Row(
                    "endpoints",
                    [
                        ("partner_id", .text(hosting.rawValue)), ("channel", .text("email")),
                        ("endpoint", .text(mailbox)),
                        ("attempted", .bool(false)),
                    ]))
        }
        rows.append(Row("endpoints", endpoint))
        rows.append(
            Row(
                "webhook_secrets",
                [
                    ("partner_id", .text(hosting.rawValue)), ("secret", .text(webhookSecret)),
                    ("created_at", time(-day)),
                ]))
        return rows
    }
}
