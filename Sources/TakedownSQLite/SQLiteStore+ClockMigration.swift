import GRDB

extension SQLiteStore {
    /// SLA policies, each partner's and notice's policy, and URL verification with its checks.
    static func registerClocks(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v5-clocks") { db in
            try db.execute(
                sql: """
                    CREATE TABLE sla_policies (
                        position INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        name TEXT NOT NULL UNIQUE,
                        deadline_seconds INTEGER NOT NULL,
                        ladder TEXT NOT NULL,
                        escalation_partner_id TEXT REFERENCES partners(id),
                        created_at REAL NOT NULL
                    );
                    ALTER TABLE partners ADD COLUMN sla_policy_id TEXT NOT NULL DEFAULT 'sla_default';
                    ALTER TABLE notices ADD COLUMN sla_policy_id TEXT NOT NULL DEFAULT 'sla_default';
                    ALTER TABLE notices ADD COLUMN verified_at REAL;
                    ALTER TABLE notices ADD COLUMN verify_due_at REAL;
                    ALTER TABLE notices ADD COLUMN verify_claim INTEGER NOT NULL DEFAULT 0;
                    -- Notices issued before verification existed are checked once the new version runs.
                    UPDATE notices SET verify_due_at = issued_at
                        WHERE status IN ('issued', 'delivered', 'acknowledged', 'unable', 'disputed', 'removed');
                    DROP INDEX notices_ladder;
                    CREATE INDEX notices_ladder ON notices(sla_policy_id, ladder_step, issued_at)
                        WHERE status IN ('issued', 'delivered', 'acknowledged');
                    CREATE INDEX notices_verify_due ON notices(verify_due_at) WHERE verify_due_at IS NOT NULL;
                    CREATE TABLE verification_checks (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        notice_id TEXT NOT NULL REFERENCES notices(id),
                        url TEXT NOT NULL,
                        checked_at REAL NOT NULL,
                        http_status INTEGER,
                        outcome TEXT NOT NULL,
                        error TEXT,
                        redirects INTEGER NOT NULL,
                        final_url TEXT NOT NULL
                    );
                    CREATE INDEX verification_checks_notice ON verification_checks(notice_id, id);
                    """)
        }
    }
}
