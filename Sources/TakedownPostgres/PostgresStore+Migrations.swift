import PostgresNIO
import TakedownStore

extension PostgresStore {
    /// A named schema change: statements run in order in one transaction.
    struct Migration: Sendable {
        let name: String
        let statements: [String]
    }

    /// Lock key of `pg_advisory_lock` while migrating, so instances starting together migrate one at a time.
    static let migrationLock: Int64 = 0x7461_6b65_646f_776e

    /// Versioned schema changes, applied in order and recorded in `schema_migrations`.
    static let migrations: [Migration] = [
        Migration(name: "v1-core", statements: coreSchema),
        Migration(name: "v2-outbox", statements: outboxSchema),
        Migration(name: "v3-ladder", statements: ladderSchema),
        Migration(name: "v4-hash-lists", statements: hashListSchema),
        Migration(name: "v5-clocks", statements: clockSchema),
        Migration(name: "v6-access", statements: accessSchema),
        Migration(name: "v7-audit", statements: auditSchema),
        Migration(name: "v8-hash-list-sources", statements: hashListSourceSchema),
        Migration(name: "v9-hosting-trace", statements: hostingTraceSchema),
        Migration(name: "v10-referrals", statements: referralSchema),
        Migration(name: "v11-console-and-disputes", statements: consoleSessionSchema),
        Migration(name: "v12-police-holds", statements: policeHoldSchema),
        Migration(name: "v13-url-lists", statements: urlListSchema),
        // v14 moved notice documents out of SQLite's notice rows; PostgreSQL keeps them apart (TOAST).
        Migration(name: "v15-signing-keys", statements: signingKeySchema),
        Migration(name: "v16-outbox-workers", statements: outboxWorkerSchema),
        Migration(name: "v17-lz4-documents", statements: lz4Documents),
        Migration(name: "v18-transparency-log", statements: transparencyLogSchema),
        Migration(name: "v19-log-leaves", statements: logLeavesSchema),
    ]

    /// `v17-lz4-documents`: notice documents, signatures and delivery payloads compressed with LZ4 instead
    /// of PostgreSQL's own pglz, which took 4 % of the machine's CPU during issuance here. Only where the
    /// server has LZ4 (PostgreSQL 14 and later, built with it); elsewhere nothing changes.
    static let lz4Documents = [
        """
        DO $$ BEGIN
            IF current_setting('server_version_num')::int >= 140000 THEN
                EXECUTE 'ALTER TABLE notices ALTER COLUMN document SET COMPRESSION lz4, '
                        'ALTER COLUMN jws SET COMPRESSION lz4';
                EXECUTE 'ALTER TABLE deliveries ALTER COLUMN payload SET COMPRESSION lz4';
            END IF;
        EXCEPTION WHEN feature_not_supported THEN NULL;
        END $$
        """
    ]

    public func migrate() async throws {
        try await migrate(Self.migrations[...], sealing: true)
    }

    /// Applies the migrations up to and including `version`, and nothing else: a database as an older
    /// gateway left it, for upgrade tests.
    package func migrate(upTo version: String) async throws {
        guard let last = Self.migrations.firstIndex(where: { $0.name == version }) else {
            throw StoreError.unavailable("no migration named \(version)")
        }
        try await migrate(Self.migrations[...last], sealing: false)
    }

    private func migrate(_ migrations: ArraySlice<Migration>, sealing: Bool) async throws {
        try await guarded {
            try await client.withConnection { connection in
                let transaction = Transaction(connection: connection, logger: logger)
                // Session lock: held across the per-migration transactions below, released even on error.
                try await transaction.run("SELECT pg_advisory_lock(\(Self.migrationLock))")
                do {
                    try await Self.apply(migrations, transaction)
                    if sealing { try await sealStoredSecrets(transaction) }
                    try await transaction.run("SELECT pg_advisory_unlock(\(Self.migrationLock))")
                } catch {
                    try? await transaction.run("ROLLBACK")
                    try? await transaction.run("SELECT pg_advisory_unlock(\(Self.migrationLock))")
                    throw error
                }
            }
        }
    }

    /// Applied migrations, by name, for `takedown migrate` to report.
    /// Applied migrations in the order they are applied (`v10` after `v9`), unknown ones last by name.
    public func appliedMigrations() async throws -> [String] {
        let applied: [String] = try await rows("SELECT name FROM schema_migrations").map { try $0.get("name") }
        return MigrationState.ordered(Set(applied), known: Self.migrations.map(\.name))
    }

    /// The schema against this gateway's migrations, without changing it (a database never migrated has
    /// every migration pending).
    public func migrationState() async throws -> MigrationState {
        let present: Bool =
            try await rows("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")
            .first?.get("present") ?? false
        return MigrationState(known: Self.migrations.map(\.name), applied: present ? try await appliedMigrations() : [])
    }

    /// Applies those of `migrations` not yet recorded, each in a transaction of its own.
    private static func apply(_ migrations: ArraySlice<Migration>, _ transaction: Transaction) async throws {
        try await transaction.run(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                name text PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
        let applied = Set(
            try await transaction.rows("SELECT name FROM schema_migrations").map { try $0.get("name", as: String.self) }
        )
        for migration in migrations where !applied.contains(migration.name) {
            try await transaction.run("BEGIN")
            for statement in migration.statements { try await transaction.run(PostgresQuery(unsafeSQL: statement)) }
            try await transaction.run("INSERT INTO schema_migrations (name) VALUES (\(migration.name))")
            try await transaction.run("COMMIT")
        }
    }

    static let coreSchema = [
        // Counters hand out case and notice positions under a row lock held to commit: see `assignPositions`.
        // A row has no position (NULL) only inside the transaction that inserts it.
        "CREATE TABLE counters (name text PRIMARY KEY, value bigint NOT NULL)",
        "INSERT INTO counters (name, value) VALUES ('cases', 0), ('notices', 0)",
        """
        CREATE TABLE partners (
            position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id text NOT NULL UNIQUE,
            name text NOT NULL,
            kind text NOT NULL,
            contact_email text NOT NULL,
            locale text NOT NULL,
            jurisdiction text NOT NULL,
            routing text NOT NULL,
            delivery text NOT NULL,
            created_at double precision NOT NULL,
            updated_at double precision NOT NULL
        )
        """,
        """
        CREATE TABLE tokens (
            id text PRIMARY KEY,
            role text NOT NULL,
            name text NOT NULL,
            partner_id text REFERENCES partners(id),
            secret_hash text NOT NULL UNIQUE,
            created_at double precision NOT NULL,
            revoked_at double precision
        )
        """,
        """
        CREATE TABLE cases (
            position bigint UNIQUE,
            id text PRIMARY KEY,
            reference text NOT NULL,
            uk_grade text NOT NULL,
            classification text,
            media_type text NOT NULL,
            notes text,
            created_at double precision NOT NULL,
            created_by text NOT NULL
        )
        """,
        "CREATE INDEX cases_reference ON cases(reference)",
        """
        CREATE TABLE case_items (
            case_id text NOT NULL REFERENCES cases(id),
            idx bigint NOT NULL,
            url text NOT NULL,
            observed_at double precision NOT NULL,
            ip text,
            md5 text, sha1 text, sha256 text, pdq text, pdq_quality bigint, photodna text,
            notice_id text,
            unrouted_reason text,
            PRIMARY KEY (case_id, idx)
        )
        """,
        "CREATE INDEX case_items_unrouted ON case_items(case_id) WHERE notice_id IS NULL",
        """
        CREATE TABLE notices (
            position bigint UNIQUE,
            id text PRIMARY KEY,
            case_id text NOT NULL REFERENCES cases(id),
            partner_id text NOT NULL REFERENCES partners(id),
            status text NOT NULL,
            issued_at double precision NOT NULL,
            deadline_at double precision NOT NULL,
            acknowledged_at double precision,
            removed_at double precision,
            items text NOT NULL,
            document bytea NOT NULL,
            jws text NOT NULL
        )
        """,
        "CREATE INDEX notices_partner ON notices(partner_id, position)",
        "CREATE INDEX notices_case ON notices(case_id)",
        """
        CREATE TABLE notice_events (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            notice_id text NOT NULL REFERENCES notices(id),
            at double precision NOT NULL,
            event text NOT NULL,
            actor text NOT NULL,
            detail text
        )
        """,
        "CREATE INDEX notice_events_notice ON notice_events(notice_id, id)",
        """
        CREATE TABLE idempotency_keys (
            scope text NOT NULL,
            key text NOT NULL,
            request_hash text NOT NULL,
            status bigint NOT NULL,
            body bytea NOT NULL,
            created_at double precision NOT NULL,
            PRIMARY KEY (scope, key)
        )
        """,
    ]

    static let ladderSchema = [
        "ALTER TABLE notices ADD COLUMN sequence bigint NOT NULL DEFAULT 1",
        "ALTER TABLE notices ADD COLUMN ladder_step bigint NOT NULL DEFAULT 0",
        """
        CREATE INDEX notices_ladder ON notices(ladder_step, issued_at)
            WHERE status IN ('issued', 'delivered', 'acknowledged')
        """,
    ]
}
