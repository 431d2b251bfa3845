import Foundation
import PostgresNIO
import TakedownPostgres
import TakedownStore
import Testing

/// What a database URL sets up and how it appears in messages; no database needed.
@Suite("PostgreSQL URLs")
struct PostgresConfigurationTests {
    @Test("sslmode: disable (and none) is plain, require encrypts without checking, verify-full checks")
    func sslModes() throws {
        let plain = try PostgresStoreConfiguration(url: "postgres://u@127.0.0.1:5/db")
        #expect(plain.sslMode == .disable && plain.tls == nil)
        let disabled = try PostgresStoreConfiguration(url: "postgres://u@127.0.0.1:5/db?sslmode=disable")
        #expect(disabled.sslMode == .disable && disabled.tls == nil)
        let required = try PostgresStoreConfiguration(url: "postgresql://u@db.example.com/db?sslmode=require")
        #expect(required.sslMode == .require && required.tls?.certificateVerification == CertificateVerification.none)
        let full = try PostgresStoreConfiguration(url: "postgres://u@db.example.com/db?sslmode=verify-full&pool_size=3")
        #expect(full.sslMode == .verifyFull && full.tls?.certificateVerification == .fullVerification)
        #expect(full.poolSize == 3)
    }

    @Test("verify-full takes a root certificate from sslrootcert, and refuses one it cannot read")
    func rootCertificate() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("root.pem")
        try Data("-----BEGIN CERTIFICATE-----\n".utf8).write(to: file)
        let configured = try PostgresStoreConfiguration(
            url: "postgres://u@db.example.com/db?sslmode=verify-full&sslrootcert=\(file.path)")
        #expect(configured.tls?.trustRoots == .file(file.path))
        #expect(throws: StoreError.self) {
            try PostgresStoreConfiguration(
                url: "postgres://u@db.example.com/db?sslmode=verify-full&sslrootcert=\(directory.path)/missing.pem")
        }
    }

    @Test(
        "any other sslmode is refused, saying which are supported",
        arguments: ["prefer", "allow", "verify-ca", "bogus", ""])
    func refusedModes(mode: String) throws {
        let error = #expect(throws: StoreError.self) {
            try PostgresStoreConfiguration(url: "postgres://u:pw@127.0.0.1:5/db?sslmode=\(mode)")
        }
        let message = "\(error.map { "\($0)" } ?? "")"
        #expect(message.contains("sslmode"))
        #expect(message.contains("verify-full"))
        #expect(!message.contains("pw@"))
    }

    @Test("credentials come from the user info, percent-decoded, or from libpq's query parameters")
    func credentials() throws {
        let encoded = try PostgresStoreConfiguration(url: "postgres://app%40x:p%2Fw%3F@127.0.0.1/db")
        #expect(encoded.client.username == "app@x" && encoded.client.password == "p/w?")
        let query = try PostgresStoreConfiguration(url: "postgres://127.0.0.1/db?user=app&password=pw")
        #expect(query.client.username == "app" && query.client.password == "pw")
        let bad = #expect(throws: StoreError.self) {
            try PostgresStoreConfiguration(url: "postgres://u:p%zzw@127.0.0.1/db")
        }
        #expect("\(bad.map { "\($0)" } ?? "")".contains("invalid %-escape"))
        #expect(!"\(bad.map { "\($0)" } ?? "")".contains("p%zzw"))
    }

    @Test(
        "a database URL never shows its password, whatever its shape",
        arguments: [
            ("postgres://u:s3cret@h/db", "postgres://u:***@h/db"),
            ("postgresql://u:s3cret@h:5433/db?sslmode=require", "postgresql://u:***@h:5433/db?sslmode=require"),
            (
                "postgres://h/db?user=u&password=s3cret&sslmode=disable",
                "postgres://h/db?user=u&password=***&sslmode=disable"
            ),
            ("postgres://h/db?PassWord=s3cret", "postgres://h/db?PassWord=***"),
            ("postgres://h/db?pass%77ord=s3cret", "postgres://h/db?pass%77ord=***"),
            ("postgres://h/db?sslpassword=s3cret", "postgres://h/db?sslpassword=***"),
            // Characters a URL parser refuses: `@`, `/`, `#`, spaces and bad escapes in the password.
            ("postgres://u:s3c@ret@h/db", "postgres://u:***@h/db"),
            ("postgres://u:s3/c#ret@h/db", "postgres://u:***@h/db"),
            ("postgres://u:s3 cret%zz@h/db", "postgres://u:***@h/db"),
            ("postgres://:s3cret@h/db", "postgres://:***@h/db"),
            ("u:s3cret@h/db", "u:***@h/db"),
            // libpq keyword strings.
            ("host=h user=u password=s3cret dbname=db", "host=h user=u password=*** dbname=db"),
            ("host=h password='s3 cret' dbname=db", "host=h password=*** dbname=db"),
            // Nothing to hide: left as it is.
            ("postgres://u@h:5432/db?sslmode=disable", "postgres://u@h:5432/db?sslmode=disable"),
        ])
    func redacted(url: String, expected: String) {
        let shown = DatabaseURL.redacted(url)
        #expect(shown == expected)
        #expect(!shown.contains("s3cret") && !shown.contains("s3c") && !shown.contains("cret"))
    }

    @Test("an @ in a query value masks more, never less")
    func overMasking() {
        let shown = DatabaseURL.redacted("postgres://u:s3cret@h/db?application_name=a@b")
        #expect(!shown.contains("s3cret"))
    }
}
