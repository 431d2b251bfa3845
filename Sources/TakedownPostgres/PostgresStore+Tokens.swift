import Foundation
import PostgresNIO
import TakedownModel
import TakedownStore

extension PostgresStore {
    /// Lock key of `pg_advisory_xact_lock` while the bootstrap admin is decided ("BOOT").
    static let bootstrapLock: Int64 = 0x424F_4F54

    public func insertToken(_ token: TokenRecord) async throws {
        try await transaction { try await Self.insert(token, $0) }
    }

    public func token(secretHash: String) async throws -> TokenRecord? {
        try await credential(secretHash: secretHash)?.token
    }

    /// Every request asks this, so it runs as a prepared statement: planned once per connection, not per call.
    public func credential(secretHash: String) async throws -> Credential? {
        try await guarded {
            try await client.execute(CredentialLookup(secretHash: secretHash), logger: logger)
                .reduce(into: [PostgresRandomAccessRow]()) { $0.append($1) }
        }.first.map { row in
            Credential(
                token: try Self.token(from: row),
                partnerSuspended: try row.get("partner_suspended_at", as: Double?.self) != nil)
        }
    }

    /// The token with a secret hash, and whether its partner is suspended. Columns are named, not `t.*`: a
    /// column a later migration adds must not change the result of a statement other instances hold prepared.
    struct CredentialLookup: PostgresPreparedStatement {
        static let name = "takedown_credential_v1"
        static let sql = """
            SELECT t.id, t.role, t.name, t.partner_id, t.secret_hash, t.created_at, t.revoked_at, t.expires_at,
                   t.last_used_at, p.suspended_at AS partner_suspended_at
            FROM tokens t LEFT JOIN partners p ON p.id = t.partner_id
            WHERE t.secret_hash = $1
            """
        typealias Row = PostgresRandomAccessRow
        let secretHash: String

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings()
            bindings.append(secretHash)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> PostgresRandomAccessRow { row.makeRandomAccess() }
    }

    public func revokeToken(_ id: TokenID, at date: Date) async throws -> Bool {
        try await transaction { transaction in
            try await transaction.count(
                """
                UPDATE tokens SET revoked_at = \(date.stored) WHERE id = \(id.rawValue) AND revoked_at IS NULL
                RETURNING 1
                """) > 0
        }
    }

    public func hasAdmin(at now: Date) async throws -> Bool {
        try await Self.hasAdmin(at: now, self)
    }

    public func insertBootstrapAdmin(_ token: TokenRecord, now: Date) async throws -> BootstrapOutcome {
        try await transaction { transaction in
            // Instances starting together decide one after the other; each statement after the lock sees
            // what the one before committed (READ COMMITTED).
            try await transaction.run("SELECT pg_advisory_xact_lock(\(Self.bootstrapLock))")
            if try await Self.hasAdmin(at: now, transaction) { return .adminExists }
            let used = try await transaction.rows(
                "SELECT EXISTS (SELECT 1 FROM tokens WHERE secret_hash = \(token.secretHash)) AS found")
            if try used.first?.get("found", as: Bool.self) == true { return .secretUsed }
            try await Self.insert(token, transaction)
            return .created
        }
    }

    public func recordTokenUse(_ id: TokenID, at date: Date, staleBefore: Date) async throws {
        // One statement, committed on its own: noting a use is bookkeeping, not a request's audited change.
        _ = try await rows(
            """
            UPDATE tokens SET last_used_at = \(date.stored)
            WHERE id = \(id.rawValue) AND (last_used_at IS NULL OR last_used_at < \(staleBefore.stored))
            """)
    }

    public func tokens(after position: Int64, limit: Int, partner: PartnerID?) async throws -> [TokenPage.Entry] {
        var sql = SQL("SELECT * FROM tokens WHERE position > ")
        sql.bind(position)
        if let partner {
            sql.append(" AND partner_id = ")
            sql.bind(partner.rawValue)
        }
        sql.append(" ORDER BY position LIMIT ")
        sql.bind(limit)
        return try await rows(sql.query).map {
            TokenPage.Entry(position: try $0.get("position"), token: try Self.token(from: $0))
        }
    }

    static func hasAdmin(at now: Date, _ source: some RowSource) async throws -> Bool {
        try await source.rows(
            """
            SELECT EXISTS (SELECT 1 FROM tokens WHERE role = 'admin' AND revoked_at IS NULL
                           AND (expires_at IS NULL OR expires_at > \(now.stored))) AS found
            """
        ).first?.get("found") ?? false
    }

    static func insert(_ token: TokenRecord, _ transaction: Transaction) async throws {
        try await transaction.run(
            """
            INSERT INTO tokens (id, role, name, partner_id, secret_hash, created_at, revoked_at, expires_at,
                                last_used_at)
            VALUES (\(token.id.rawValue), \(token.role.rawValue), \(token.name), \(token.partnerID?.rawValue),
                    \(token.secretHash), \(token.createdAt.stored), \(token.revokedAt?.stored),
                    \(token.expiresAt?.stored), \(token.lastUsedAt?.stored))
            """)
    }

    static func token(from row: PostgresRandomAccessRow) throws -> TokenRecord {
        TokenRecord(
            id: TokenID(rawValue: try row.get("id")), role: TokenRole(rawValue: try row.get("role")) ?? .partner,
            name: try row.get("name"),
            partnerID: try row.get("partner_id", as: String?.self).map(PartnerID.init(rawValue:)),
            secretHash: try row.get("secret_hash"), createdAt: try row.date("created_at"),
            revokedAt: try row.optionalDate("revoked_at"), expiresAt: try row.optionalDate("expires_at"),
            lastUsedAt: try row.optionalDate("last_used_at"))
    }
}
