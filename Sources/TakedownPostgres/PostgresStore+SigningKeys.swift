import Foundation
import PostgresNIO
import TakedownStore

extension PostgresStore {
    static let signingKeySchema = [
        """
        CREATE TABLE signing_keys (
            kid text PRIMARY KEY,
            created_at double precision NOT NULL,
            retired_at double precision,
            private_key text NOT NULL
        )
        """,
        // At most one active key: instances creating a first key or rotating together end with one.
        "CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((true)) WHERE retired_at IS NULL",
    ]

    public func signingKeys() async throws -> [StoredSigningKey] {
        try await rows("SELECT * FROM signing_keys ORDER BY created_at, kid").map { row in
            StoredSigningKey(
                kid: try row.get("kid"), createdAt: try row.date("created_at"),
                retiredAt: try row.optionalDate("retired_at"),
                privateKey: try secrets.open(try row.get("private_key")))
        }
    }

    public func addSigningKey(_ key: StoredSigningKey, retiringActiveAt: Date?) async throws {
        let sealed = try secrets.seal(key.privateKey)
        try await transaction { transaction in
            if let retiringActiveAt {
                try await transaction.run(
                    "UPDATE signing_keys SET retired_at = \(retiringActiveAt.stored) WHERE retired_at IS NULL")
            }
            try await transaction.run(
                """
                INSERT INTO signing_keys (kid, created_at, retired_at, private_key)
                VALUES (\(key.kid), \(key.createdAt.stored), \(key.retiredAt?.stored), \(sealed))
                """)
        }
    }
}
