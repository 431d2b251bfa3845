extension PostgresStore {
    /// The outbox, attempts, endpoint health and webhook secrets.
    static let outboxSchema = [
        """
        CREATE TABLE deliveries (
            position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id text NOT NULL UNIQUE,
            notice_id text NOT NULL REFERENCES notices(id),
            partner_id text NOT NULL REFERENCES partners(id),
            channel text NOT NULL,
            endpoint text NOT NULL,
            event_type text NOT NULL,
            event_id text NOT NULL,
            payload bytea NOT NULL,
            state text NOT NULL,
            attempts bigint NOT NULL DEFAULT 0,
            next_attempt_at double precision NOT NULL,
            lease_token bigint NOT NULL DEFAULT 0,
            lease_owner text,
            lease_expires_at double precision,
            last_error text,
            last_status bigint,
            created_at double precision NOT NULL,
            updated_at double precision NOT NULL
        )
        """,
        // Claims probe only due rows of one endpoint; without partial indexes the queue slows ~10x as
        // history grows (stack-probe §5).
        """
        CREATE INDEX deliveries_due_endpoint ON deliveries(partner_id, channel, endpoint, next_attempt_at, position)
            WHERE state IN ('pending', 'failed')
        """,
        "CREATE INDEX deliveries_due ON deliveries(next_attempt_at, position) WHERE state IN ('pending', 'failed')",
        """
        CREATE INDEX deliveries_in_flight ON deliveries(partner_id, channel, endpoint, lease_expires_at)
            WHERE state = 'in_flight'
        """,
        "CREATE INDEX deliveries_notice ON deliveries(notice_id)",
        "CREATE INDEX deliveries_partner ON deliveries(partner_id, created_at)",
        """
        CREATE TABLE delivery_attempts (
            delivery_id text NOT NULL REFERENCES deliveries(id),
            number bigint NOT NULL,
            at double precision NOT NULL,
            status_code bigint,
            latency_ms bigint NOT NULL,
            error text,
            response_excerpt text,
            PRIMARY KEY (delivery_id, number)
        )
        """,
        // One row per endpoint from its first delivery on: claims lock these rows before counting what is in
        // flight. `attempted` marks those that have a health record to show (set at the first completion).
        """
        CREATE TABLE endpoints (
            partner_id text NOT NULL REFERENCES partners(id),
            channel text NOT NULL,
            endpoint text NOT NULL,
            attempted boolean NOT NULL DEFAULT false,
            failing_since double precision,
            last_success_at double precision,
            paused_at double precision,
            disabled_at double precision,
            PRIMARY KEY (partner_id, channel, endpoint)
        )
        """,
        """
        CREATE TABLE webhook_secrets (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            partner_id text NOT NULL REFERENCES partners(id),
            secret text NOT NULL,
            created_at double precision NOT NULL,
            expires_at double precision
        )
        """,
        "CREATE INDEX webhook_secrets_partner ON webhook_secrets(partner_id, created_at)",
    ]

    /// Hash lists: the list, its grants, the entries as they stand, the change log (the feed and, through
    /// `superseded_by`, every version's contents), versions, downloads and feedback.
    static let hashListSchema = [
        """
        CREATE TABLE hash_lists (
            position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id text NOT NULL UNIQUE,
            name text NOT NULL UNIQUE,
            audience text NOT NULL,
            hash_types text NOT NULL,
            uk_grades text NOT NULL,
            created_at double precision NOT NULL,
            updated_at double precision NOT NULL,
            last_seq bigint NOT NULL DEFAULT 0,
            purged_through bigint NOT NULL DEFAULT 0,
            entry_count bigint NOT NULL DEFAULT 0
        )
        """,
        """
        CREATE TABLE hash_list_grants (
            list_id text NOT NULL REFERENCES hash_lists(id),
            partner_id text NOT NULL REFERENCES partners(id),
            PRIMARY KEY (list_id, partner_id)
        )
        """,
        "CREATE INDEX hash_list_grants_partner ON hash_list_grants(partner_id)",
        """
        CREATE TABLE hash_list_entries (
            list_id text NOT NULL REFERENCES hash_lists(id),
            number bigint NOT NULL,
            id text NOT NULL UNIQUE,
            key text NOT NULL,
            case_id text,
            created_at double precision NOT NULL,
            deleted_at double precision,
            seq bigint NOT NULL,
            purged boolean NOT NULL DEFAULT false,
            PRIMARY KEY (list_id, number),
            UNIQUE (list_id, key)
        )
        """,
        """
        CREATE INDEX hash_list_entries_deleted ON hash_list_entries(list_id, deleted_at)
            WHERE deleted_at IS NOT NULL AND NOT purged
        """,
        """
        CREATE TABLE hash_list_changes (
            list_id text NOT NULL,
            seq bigint NOT NULL,
            entry_number bigint NOT NULL,
            entry_id text NOT NULL,
            op text NOT NULL,
            superseded_by bigint,
            media_type text NOT NULL,
            md5 text, sha1 text, sha256 text, pdq text, pdq_quality bigint,
            uk_grade text NOT NULL,
            classification text,
            updated_at double precision NOT NULL,
            reason text,
            line bytea NOT NULL,
            PRIMARY KEY (list_id, seq)
        )
        """,
        "CREATE INDEX hash_list_changes_entry ON hash_list_changes(list_id, entry_number)",
        """
        CREATE TABLE hash_list_versions (
            list_id text NOT NULL REFERENCES hash_lists(id),
            version bigint NOT NULL,
            seq bigint NOT NULL,
            entry_count bigint NOT NULL,
            created_at double precision NOT NULL,
            expires_at double precision NOT NULL,
            manifest bytea NOT NULL,
            jws text NOT NULL,
            PRIMARY KEY (list_id, version)
        )
        """,
        """
        CREATE TABLE hash_list_downloads (
            position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            list_id text NOT NULL REFERENCES hash_lists(id),
            version bigint NOT NULL,
            format text NOT NULL,
            hash text,
            partner_id text,
            token_id text NOT NULL,
            actor text NOT NULL,
            bytes bigint NOT NULL,
            gzip boolean NOT NULL,
            at double precision NOT NULL
        )
        """,
        "CREATE INDEX hash_list_downloads_list ON hash_list_downloads(list_id, position)",
        """
        CREATE TABLE hash_list_feedback (
            position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id text NOT NULL UNIQUE,
            list_id text NOT NULL REFERENCES hash_lists(id),
            entry_id text NOT NULL,
            partner_id text,
            verdict text NOT NULL,
            comment text,
            created_at double precision NOT NULL,
            status text NOT NULL,
            resolved_at double precision,
            resolved_by text,
            note text
        )
        """,
        "CREATE INDEX hash_list_feedback_list ON hash_list_feedback(list_id, status, position)",
    ]
}
