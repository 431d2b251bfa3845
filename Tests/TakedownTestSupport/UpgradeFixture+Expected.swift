import Foundation
import TakedownModel

/// The fixture's rows as the current store must read them back after the upgrade: the values written,
/// with the new columns at their defaults or filled in by the migration.
extension UpgradeFixture {
    static func at(_ offset: TimeInterval) -> Date { Synthetic.epoch.addingTimeInterval(offset) }

    static func expectedPartners(_ level: Int) -> [Partner] {
        [
            Partner(
                id: hosting, name: "Upgrade Hosting", kind: .hostingProvider, contactEmail: mailbox, locale: "en",
                jurisdiction: "GB",
                routing: RoutingRules(domains: ["upgrade.test"], ipRanges: ["192.0.2.0/24"], asns: [64500]),
                delivery: DeliveryChannels(webhookUrl: webhook), createdAt: at(-day), updatedAt: at(-day)),
            Partner(
                id: police, name: "Police Liaison", kind: .lawEnforcement, contactEmail: "liaison@police.test",
                locale: "en", jurisdiction: "GB", routing: RoutingRules(), delivery: DeliveryChannels(),
                slaPolicyId: level >= 5 ? policy : .standard, createdAt: at(-day), updatedAt: at(-day),
                suspendedAt: level >= 6 ? at(-60) : nil, suspensionReason: level >= 6 ? "contract ended" : nil),
        ]
    }

    static func expectedTokens(_ level: Int) -> [TokenRecord] {
        [
            TokenRecord(
                id: adminToken, role: .admin, name: "bootstrap", partnerID: nil, secretHash: secretHashes[0],
                createdAt: at(-day)),
            TokenRecord(
                id: partnerToken, role: .partner, name: "upgrade hosting", partnerID: hosting,
                secretHash: secretHashes[1],
                createdAt: at(-day + 400), expiresAt: level >= 6 ? at(30 * day) : nil,
                lastUsedAt: level >= 6 ? at(-120) : nil),
            TokenRecord(
                id: revokedToken, role: .analyst, name: "former analyst", partnerID: nil, secretHash: secretHashes[2],
                createdAt: at(-day + 1400), revokedAt: at(-hour)),
        ]
    }

    static var expectedCase: Case {
        let hashes = itemHashes
        return Case(
            id: cases[0], reference: "HL-UPGRADE-1", category: Category(ukGrade: .a, classification: .a1),
            mediaType: .image, notes: "internal note",
            items: [
                CaseItem(url: urls[0], observedAt: at(-hour), ip: "192.0.2.7", hashes: hashes[0], noticeId: notices[0]),
                CaseItem(
                    url: urls[1], observedAt: at(-hour), ip: nil, hashes: hashes[1],
                    unroutedReason: "no_matching_partner"),
            ],
            createdAt: at(0), createdBy: "analyst:upgrade")
    }

    /// Before v5 the migration schedules a check of every open or removed notice at its issue time.
    static func expectedNotices(_ level: Int) -> [Notice] {
        let analyst = "analyst:upgrade"
        let provider = "partner:\(hosting)"
        var acknowledged = Notice(
            id: notices[0], position: 1, caseId: cases[0], partnerId: hosting, status: .acknowledged, issuedAt: at(0),
            deadlineAt: at(day), acknowledgedAt: at(600), items: [NoticeItem(url: urls[0])],
            document: Data(#"{"id":"notice-1"}"#.utf8), jws: "eyJhbGciOiJFZERTQSJ9.bm90aWNlLTE.c2lnLTE",
            timeline: [
                TimelineEvent(at: at(0), event: "issued", actor: analyst, detail: "to \(hosting)"),
                TimelineEvent(at: at(600), event: "acknowledged", actor: provider),
            ])
        if level >= 3 {
            acknowledged.timeline.append(
                TimelineEvent(at: at(2 * hour), event: "reminder_sent", actor: "gateway", detail: "sequence 2"))
            acknowledged.sequence = 2
            acknowledged.ladderStep = 1
        }
        acknowledged.verifyDueAt = level >= 5 ? at(1 + 6 * hour) : at(0)
        var removed = Notice(
            id: notices[1], position: 2, caseId: cases[1], partnerId: hosting, status: .removed, issuedAt: at(1),
            deadlineAt: at(1 + day), removedAt: at(2 * hour),
            items: [NoticeItem(url: urls[2], removedAt: at(2 * hour), action: .removed)],
            document: Data(#"{"id":"notice-2"}"#.utf8), jws: "eyJhbGciOiJFZERTQSJ9.bm90aWNlLTI.c2lnLTI",
            timeline: [
                TimelineEvent(at: at(1), event: "issued", actor: analyst, detail: "to \(hosting)"),
                TimelineEvent(at: at(2 * hour), event: "removed", actor: provider, detail: "removed"),
            ])
        removed.verifyDueAt = level >= 5 ? at(2 * hour) : at(1)
        let withdrawn = Notice(
            id: notices[2], position: 3, caseId: cases[2], partnerId: hosting, status: .withdrawn, issuedAt: at(2),
            deadlineAt: at(2 + day), items: [NoticeItem(url: urls[3])], document: Data(#"{"id":"notice-3"}"#.utf8),
            jws: "eyJhbGciOiJFZERTQSJ9.bm90aWNlLTM.c2lnLTM",
            timeline: [
                TimelineEvent(at: at(2), event: "issued", actor: analyst, detail: "to \(hosting)"),
                TimelineEvent(at: at(60), event: "withdrawn", actor: analyst, detail: "issued in error"),
            ])
        return [acknowledged, removed, withdrawn]
    }

    /// Delivered, failed, pending, leased by a gateway that died, and (from v3) a delivered reminder.
    static func expectedDeliveries(_ level: Int) -> [Delivery] {
        func delivery(
            _ index: Int, _ notice: Int, channel: DeliveryChannel = .webhook, type: String = "notice.issued",
            _ state: DeliveryState, attempts: Int = 0, due: TimeInterval, token: Int64 = 1, error: String? = nil,
            status: Int? = nil, created: TimeInterval, updated: TimeInterval? = nil
        ) -> Delivery {
            Delivery(
                id: deliveries[index], noticeId: notices[notice], partnerId: hosting, channel: channel,
                endpoint: channel == .webhook ? webhook : mailbox, eventType: type, eventId: "msg_upgrade\(index)",
                payload: Data(#"{"type":"\#(type)","n":\#(index)}"#.utf8), state: state, attempts: attempts,
                nextAttemptAt: at(due), leaseToken: token, leaseOwner: state == .inFlight ? "oldhost/4242/7" : nil,
                leaseExpiresAt: state == .inFlight ? at(45) : nil, lastError: error, lastStatus: status,
                createdAt: at(created), updatedAt: at(updated ?? created))
        }
        var rows = [
            delivery(0, 0, .succeeded, attempts: 1, due: 0, status: 200, created: 0, updated: 1),
            delivery(1, 1, .failed, attempts: 1, due: 61, error: "timed out", created: 1),
            delivery(2, 2, type: "notice.withdrawn", .pending, due: 60, token: 0, created: 60),
            delivery(3, 0, channel: .email, .inFlight, due: 0, created: 0),
        ]
        if level >= 3 {
            rows.append(
                delivery(
                    4, 0, type: "notice.reminder", .succeeded, attempts: 1, due: 2 * hour, status: 200,
                    created: 2 * hour, updated: 2 * hour + 1))
        }
        return rows
    }

    static func expectedAttempts(_ level: Int) -> [(DeliveryID, DeliveryAttempt)] {
        var attempts = [
            (
                deliveries[0],
                DeliveryAttempt(
                    number: 1, at: at(1), statusCode: 200, latencyMs: 120, error: nil, responseExcerpt: "ok")
            ),
            (
                deliveries[1],
                DeliveryAttempt(
                    number: 1, at: at(1), statusCode: nil, latencyMs: 15_000, error: "timed out", responseExcerpt: nil)
            ),
        ]
        if level >= 3 {
            attempts.append(
                (
                    deliveries[4],
                    DeliveryAttempt(
                        number: 1, at: at(2 * hour + 1), statusCode: 200, latencyMs: 80, error: nil,
                        responseExcerpt: nil)
                ))
        }
        return attempts
    }

    static func expectedEndpoint(_ level: Int) -> EndpointState {
        EndpointState(
            partnerId: hosting, channel: .webhook, endpoint: webhook, failingSince: level >= 3 ? nil : at(1),
            lastSuccessAt: level >= 3 ? at(2 * hour + 1) : at(1))
    }
}
