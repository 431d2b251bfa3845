import Foundation
import Logging
import TakedownModel
import TakedownSQLite
import TakedownServer
import TakedownService
import TakedownStore

/// Where the repository's folders are, found from this file's path.
public enum Repository {
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    public static let templates = root.appendingPathComponent("Templates")
    public static let schemas = root.appendingPathComponent("Schemas")
}

/// A fresh folder under the system temporary directory, removed by the caller when done.
public func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("takedown-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A gateway on a fresh SQLite store in a temporary folder, built by the same composition root as `serve`.
public struct TestGateway: Sendable {
    public let gateway: Gateway
    public let settings: ServerSettings
    public let clock: TestClock
    public let directory: URL

    public static let adminSecret = "tdk_test-admin-secret-0123456789abcdefghijkl"

    public init(configure: (inout ServerSettings) -> Void = { _ in }) async throws {
        directory = try temporaryDirectory()
        var settings = try ServerSettings(environment: [:])
        settings.dataDirectory = directory.path
        settings.publicURL = "https://gateway.test"
        settings.bootstrapAdminToken = Self.adminSecret
        configure(&settings)
        self.settings = settings
        clock = TestClock()
        let store = try await GatewayComposition.store(settings)
        var logger = Logger(label: "takedown.test")
        logger.logLevel = .critical
        gateway = try await GatewayComposition.gateway(settings, store: store, clock: clock.function, logger: logger)
    }

    public var store: any GatewayStore { gateway.store }

    public func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Closes the store (a PostgreSQL pool) and removes the data folder.
    public func close() async {
        await GatewayComposition.close(store)
        remove()
    }
}

/// Synthetic test data: `example.com` and `.test` hosts, random hashes.
public enum Synthetic {
    /// A round instant, exact in every store's time representation.
    public static let epoch = Date(timeIntervalSince1970: 1_800_000_000)

    public static func hex(_ count: Int) -> String {
        (0..<count).map { _ in String("0123456789abcdef".randomElement()!) }.joined()
    }

    public static func hashes() -> Hashes {
        Hashes(md5: hex(32), sha1: hex(40), sha256: hex(64))
    }

    public static func partner(
        _ name: String = "Example Hosting", domains: [String] = ["example.com"], ranges: [String] = [],
        kind: PartnerKind = .hostingProvider, locale: String = "en", at now: Date = Synthetic.epoch
    ) -> Partner {
        Partner(
            id: .generate(), name: name, kind: kind, contactEmail: "abuse@\(domains.first ?? "hosting.test")",
            locale: locale, jurisdiction: "GB", routing: RoutingRules(domains: domains, ipRanges: ranges),
            delivery: DeliveryChannels(), createdAt: now, updatedAt: now)
    }

    public static func token(role: TokenRole = .partner, partner: PartnerID? = nil, at now: Date = Synthetic.epoch)
        -> TokenRecord
    {
        TokenRecord(
            id: .generate(), role: role, name: "test", partnerID: partner, secretHash: hex(64), createdAt: now)
    }

    public static func caseRecord(urls: [String], reference: String = "HL-\(hex(6))", at now: Date = Synthetic.epoch)
        -> Case
    {
        Case(
            id: .generate(), reference: reference, category: Category(ukGrade: .a, classification: .a1),
            mediaType: .image, notes: "internal",
            items: urls.map {
                CaseItem(url: $0, observedAt: now.addingTimeInterval(-3600), ip: "192.0.2.7", hashes: hashes())
            }, createdAt: now, createdBy: "analyst:test")
    }

    public static func notice(
        for record: Case, partner: PartnerID, urls: [String]? = nil, at now: Date = Synthetic.epoch
    ) -> Notice {
        Notice(
            id: .generate(), caseId: record.id, partnerId: partner, status: .issued, issuedAt: now,
            deadlineAt: now.addingTimeInterval(86400),
            items: (urls ?? record.items.map(\.url)).map { NoticeItem(url: $0) },
            document: Data(#"{"id":"x"}"#.utf8), jws: "a.b.c",
            timeline: [TimelineEvent(at: now, event: "issued", actor: "analyst:test")])
    }

    public static func delivery(
        for notice: Notice, endpoint: String = "https://hooks.example.com/takedown", at now: Date = Synthetic.epoch
    ) -> Delivery {
        Delivery(
            noticeId: notice.id, partnerId: notice.partnerId, channel: .webhook, endpoint: endpoint,
            eventType: "notice.issued", eventId: "msg_" + hex(20), payload: Data(#"{"type":"notice.issued"}"#.utf8),
            nextAttemptAt: now, createdAt: now, updatedAt: now)
    }
}
