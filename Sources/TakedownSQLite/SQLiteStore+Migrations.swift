import GRDB

extension SQLiteStore {
    /// Versioned schema changes, applied in order and recorded in `grdb_migrations`.
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-core") { db in
            try db.execute(
                sql: """
                    CREATE TABLE partners (
                        position INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        name TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        contact_email TEXT NOT NULL,
                        locale TEXT NOT NULL,
                        jurisdiction TEXT NOT NULL,
                        routing TEXT NOT NULL,
                        delivery TEXT NOT NULL,
                        created_at REAL NOT NULL,
                        updated_at REAL NOT NULL
                    );
                    CREATE TABLE tokens (
                        id TEXT PRIMARY KEY,
                        role TEXT NOT NULL,
                        name TEXT NOT NULL,
                        partner_id TEXT REFERENCES partners(id),
                        secret_hash TEXT NOT NULL UNIQUE,
                        created_at REAL NOT NULL,
                        revoked_at REAL
                    );
                    CREATE TABLE cases (
                        position INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        reference TEXT NOT NULL,
                        uk_grade TEXT NOT NULL,
                        classification TEXT,
                        media_type TEXT NOT NULL,
                        notes TEXT,
                        created_at REAL NOT NULL,
                        created_by TEXT NOT NULL
                    );
                    CREATE INDEX cases_reference ON cases(reference);
                    CREATE TABLE case_items (
                        case_id TEXT NOT NULL REFERENCES cases(id),
                        idx INTEGER NOT NULL,
                        url TEXT NOT NULL,
                        observed_at REAL NOT NULL,
                        ip TEXT,
                        md5 TEXT, sha1 TEXT, sha256 TEXT, pdq TEXT, pdq_quality INTEGER, photodna TEXT,
                        notice_id TEXT,
                        unrouted_reason TEXT,
                        PRIMARY KEY (case_id, idx)
                    );
                    CREATE TABLE notices (
                        position INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        case_id TEXT NOT NULL REFERENCES cases(id),
                        partner_id TEXT NOT NULL REFERENCES partners(id),
                        status TEXT NOT NULL,
                        issued_at REAL NOT NULL,
                        deadline_at REAL NOT NULL,
                        acknowledged_at REAL,
                        removed_at REAL,
                        items TEXT NOT NULL,
                        document BLOB NOT NULL,
                        jws TEXT NOT NULL
                    );
                    CREATE INDEX notices_partner ON notices(partner_id, position);
                    CREATE INDEX notices_case ON notices(case_id);
                    CREATE TABLE notice_events (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        notice_id TEXT NOT NULL REFERENCES notices(id),
                        at REAL NOT NULL,
                        event TEXT NOT NULL,
                        actor TEXT NOT NULL,
                        detail TEXT
                    );
                    CREATE INDEX notice_events_notice ON notice_events(notice_id, id);
                    CREATE TABLE idempotency_keys (
                        scope TEXT NOT NULL,
                        key TEXT NOT NULL,
                        request_hash TEXT NOT NULL,
                        status INTEGER NOT NULL,
                        body BLOB NOT NULL,
                        created_at REAL NOT NULL,
                        PRIMARY KEY (scope, key)
                    );
                    """)
        }
        registerOutbox(&migrator)
        migrator.registerMigration("v3-ladder") { db in
            try db.execute(
                sql: """
                    ALTER TABLE notices ADD COLUMN sequence INTEGER NOT NULL DEFAULT 1;
                    ALTER TABLE notices ADD COLUMN ladder_step INTEGER NOT NULL DEFAULT 0;
                    CREATE INDEX notices_ladder ON notices(ladder_step, issued_at)
                        WHERE status IN ('issued', 'delivered', 'acknowledged');
                    """)
        }
        registerHashLists(&migrator)
        registerClocks(&migrator)
        registerAccess(&migrator)
        registerAudit(&migrator)
        registerHashListSources(&migrator)
        registerHostingTrace(&migrator)
        registerReferrals(&migrator)
        registerConsoleSessions(&migrator)
        registerPoliceHolds(&migrator)
        registerURLLists(&migrator)
        registerNoticeDocuments(&migrator)
        registerSigningKeys(&migrator)
        registerOutboxWorkers(&migrator)
        registerTransparencyLog(&migrator)
        return migrator
    }()
}

extension SQLiteStore {
    /// The outbox, attempts, endpoint health and webhook secrets.
    static func registerOutbox(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v2-outbox") { db in
            try db.execute(
                sql: """
                    CREATE TABLE deliveries (
                        position INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        notice_id TEXT NOT NULL REFERENCES notices(id),
                        partner_id TEXT NOT NULL REFERENCES partners(id),
                        channel TEXT NOT NULL,
                        endpoint TEXT NOT NULL,
                        event_type TEXT NOT NULL,
                        event_id TEXT NOT NULL,
                        payload BLOB NOT NULL,
                        state TEXT NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        next_attempt_at REAL NOT NULL,
                        lease_token INTEGER NOT NULL DEFAULT 0,
                        lease_owner TEXT,
                        lease_expires_at REAL,
                        last_error TEXT,
                        last_status INTEGER,
                        created_at REAL NOT NULL,
                        updated_at REAL NOT NULL
                    );
                    -- Claims scan only due rows; without a partial index the queue slows as history grows.
                    CREATE INDEX deliveries_due ON deliveries(next_attempt_at, position) WHERE state IN ('pending', 'failed');
                    CREATE INDEX deliveries_in_flight ON deliveries(partner_id, channel, endpoint) WHERE state = 'in_flight';
                    CREATE INDEX deliveries_notice ON deliveries(notice_id);
                    CREATE INDEX deliveries_partner ON deliveries(partner_id, created_at);
                    CREATE TABLE delivery_attempts (
                        delivery_id TEXT NOT NULL REFERENCES deliveries(id),
                        number INTEGER NOT NULL,
                        at REAL NOT NULL,
                        status_code INTEGER,
                        latency_ms INTEGER NOT NULL,
                        error TEXT,
                        response_excerpt TEXT,
                        PRIMARY KEY (delivery_id, number)
                    );
                    CREATE TABLE endpoints (
                        partner_id TEXT NOT NULL REFERENCES partners(id),
                        channel TEXT NOT NULL,
                        endpoint TEXT NOT NULL,
                        failing_since REAL,
                        last_success_at REAL,
                        paused_at REAL,
                        disabled_at REAL,
                        PRIMARY KEY (partner_id, channel, endpoint)
                    );
                    CREATE TABLE webhook_secrets (
                        partner_id TEXT NOT NULL REFERENCES partners(id),
                        secret TEXT NOT NULL,
                        created_at REAL NOT NULL,
                        expires_at REAL
                    );
                    CREATE INDEX webhook_secrets_partner ON webhook_secrets(partner_id, created_at);
                    """)
        }
    }
}
