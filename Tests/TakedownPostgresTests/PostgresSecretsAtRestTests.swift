import Foundation
import PostgresNIO
import TakedownModel
import TakedownServer
import TakedownStore
import TakedownTestSupport
import Testing

@testable import TakedownPostgres

/// Webhook secrets in the PostgreSQL table are sealed with the data folder's key; rows from before sealing
/// are sealed at the next start.
@Suite(
    "PostgreSQL: secrets at rest",
    .enabled(if: PostgresTestDatabase.url != nil, "TAKEDOWN_TEST_DATABASE_URL is not set: PostgreSQL checks skipped"))
struct PostgresSecretsAtRestTests {
    /// What the table holds, read straight from the database.
    func storedSecrets(_ store: PostgresStore) async throws -> [String] {
        try await store.rows("SELECT secret FROM webhook_secrets ORDER BY id").map { try $0.get("secret") }
    }

    @Test("the table holds no webhook secret in the clear; an older row is sealed at the next start")
    func sealed() async throws {
        try await PostgresTestDatabase.withFreshDatabase { url in
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            let settings = try ServerSettings(environment: [
                "TAKEDOWN_DATABASE_URL": url, "TAKEDOWN_DATA_DIR": directory.path,
            ])

            // A row written the way a gateway before sealing wrote it.
            let legacy = try PostgresStore(url: url, poolSize: 2)
            try await legacy.migrate()
            let old = "whsec_" + Synthetic.hex(40)
            var partner = Synthetic.partner(domains: ["sealed.test"])
            partner.delivery.webhookUrl = "https://hooks.sealed.test/in"
            try await legacy.insertPartner(partner, token: Synthetic.token(partner: partner.id), webhookSecret: old)
            #expect(try await storedSecrets(legacy) == [old])
            await legacy.shutdown()

            let opened = try await GatewayComposition.store(settings)
            let store = try #require(opened as? PostgresStore)
            let new = "whsec_" + Synthetic.hex(40)
            try await store.addWebhookSecret(
                partner: partner.id, secret: new, now: Synthetic.epoch, previousUntil: Synthetic.epoch + 60)
            #expect(try await store.webhookSecrets(partner: partner.id, now: Synthetic.epoch) == [new, old])
            let stored = try await storedSecrets(store)
            #expect(stored.count == 2 && stored.allSatisfy { $0.hasPrefix("aesgcm1:") })
            #expect(!stored.contains { $0.contains(old) || $0.contains(new) })
            await GatewayComposition.close(opened)
        }
    }
}
