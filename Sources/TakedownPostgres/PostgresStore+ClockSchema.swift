extension PostgresStore {
    /// SLA policies, each partner's and notice's policy, and URL verification with its checks.
    static let clockSchema = [
        """
        CREATE TABLE sla_policies (
            position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id text NOT NULL UNIQUE,
            name text NOT NULL UNIQUE,
            deadline_seconds bigint NOT NULL,
            ladder text NOT NULL,
            escalation_partner_id text REFERENCES partners(id),
            created_at double precision NOT NULL
        )
        """,
        "ALTER TABLE partners ADD COLUMN sla_policy_id text NOT NULL DEFAULT 'sla_default'",
        "ALTER TABLE notices ADD COLUMN sla_policy_id text NOT NULL DEFAULT 'sla_default'",
        "ALTER TABLE notices ADD COLUMN verified_at double precision",
        "ALTER TABLE notices ADD COLUMN verify_due_at double precision",
        "ALTER TABLE notices ADD COLUMN verify_claim bigint NOT NULL DEFAULT 0",
        // Notices issued before verification existed are checked once the new version runs.
        """
        UPDATE notices SET verify_due_at = issued_at
        WHERE status IN ('issued', 'delivered', 'acknowledged', 'unable', 'disputed', 'removed')
        """,
        "DROP INDEX notices_ladder",
        """
        CREATE INDEX notices_ladder ON notices(sla_policy_id, ladder_step, issued_at)
            WHERE status IN ('issued', 'delivered', 'acknowledged')
        """,
        "CREATE INDEX notices_verify_due ON notices(verify_due_at) WHERE verify_due_at IS NOT NULL",
        """
        CREATE TABLE verification_checks (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            notice_id text NOT NULL REFERENCES notices(id),
            url text NOT NULL,
            checked_at double precision NOT NULL,
            http_status bigint,
            outcome text NOT NULL,
            error text,
            redirects bigint NOT NULL,
            final_url text NOT NULL
        )
        """,
        "CREATE INDEX verification_checks_notice ON verification_checks(notice_id, id)",
    ]
}
