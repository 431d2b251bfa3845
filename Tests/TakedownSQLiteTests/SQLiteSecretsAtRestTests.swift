import Crypto
import Foundation
import TakedownModel
import TakedownSQLite
import TakedownSigning
import TakedownStore
import TakedownTestSupport
import Testing

/// Webhook secrets in the SQLite file are sealed; rows from before sealing are sealed when the store
/// migrates; a key that does not open them stops the start.
@Suite("SQLite: secrets at rest")
struct SQLiteSecretsAtRestTests {
    struct Sealer: SecretSealing {
        let box: SecretBox
        func seal(_ secret: String) throws -> String { try box.seal(secret) }
        func open(_ stored: String) throws -> String { try box.open(stored) }
        func needsSealing(_ stored: String) -> Bool { box.needsSealing(stored) }
    }

    /// Every byte of the database with its write-ahead log.
    func bytes(_ directory: URL) throws -> Data {
        try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .reduce(into: Data()) { $0.append(try Data(contentsOf: $1)) }
    }

    @Test("the database file holds no webhook secret, and the store reads them back in the clear")
    func sealedOnWrite() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sealer = Sealer(box: SecretBox(key: SymmetricKey(size: .bits256)))
        let store = try SQLiteStore(path: directory.appendingPathComponent("t.sqlite").path, secrets: sealer)
        try await store.migrate()
        let first = "whsec_" + Synthetic.hex(40)
        let second = "whsec_" + Synthetic.hex(40)
        var partner = Synthetic.partner(domains: ["sealed.test"])
        partner.delivery.webhookUrl = "https://hooks.sealed.test/in"
        try await store.insertPartner(partner, token: Synthetic.token(partner: partner.id), webhookSecret: first)
        try await store.addWebhookSecret(
            partner: partner.id, secret: second, now: Synthetic.epoch, previousUntil: Synthetic.epoch + 60)
        #expect(try await store.webhookSecrets(partner: partner.id, now: Synthetic.epoch) == [second, first])

        let stored = try bytes(directory)
        for secret in [first, second] {
            #expect(stored.range(of: Data(secret.utf8)) == nil)
            #expect(stored.range(of: Data(secret.dropFirst(6).utf8)) == nil)
        }
        #expect(stored.range(of: Data("aesgcm1:".utf8)) != nil, "searched the wrong bytes?")
    }

    @Test("rows stored in the clear are sealed at the next start; the wrong key refuses to start")
    func upgrade() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("t.sqlite").path
        let legacy = try SQLiteStore(path: path)
        try await legacy.migrate()
        let secret = "whsec_" + Synthetic.hex(40)
        let partner = Synthetic.partner(domains: ["legacy.test"])
        try await legacy.insertPartner(partner, token: Synthetic.token(partner: partner.id), webhookSecret: nil)
        try await legacy.addWebhookSecret(
            partner: partner.id, secret: secret, now: Synthetic.epoch, previousUntil: Synthetic.epoch)
        #expect(try bytes(directory).range(of: Data(secret.utf8)) != nil)

        let key = SymmetricKey(size: .bits256)
        let upgraded = try SQLiteStore(path: path, secrets: Sealer(box: SecretBox(key: key)))
        try await upgraded.migrate()
        #expect(try await upgraded.webhookSecrets(partner: partner.id, now: Synthetic.epoch) == [secret])
        // Sealing runs at every start and finds nothing more to do.
        try await upgraded.migrate()
        #expect(try await upgraded.webhookSecrets(partner: partner.id, now: Synthetic.epoch) == [secret])
        #expect(try await legacy.webhookSecrets(partner: partner.id, now: Synthetic.epoch) != [secret])

        let wrongKey = try SQLiteStore(path: path, secrets: Sealer(box: SecretBox(key: SymmetricKey(size: .bits256))))
        let error = await #expect(throws: StoreError.self) { try await wrongKey.migrate() }
        #expect("\(error.map { "\($0)" } ?? "")".contains("does not open"))
    }
}
