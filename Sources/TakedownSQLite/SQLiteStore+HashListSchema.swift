import GRDB

extension SQLiteStore {
    /// Hash lists: the list, its grants, the entries as they stand, the change log (which is both the
    /// feed and, through `superseded_by`, every version's contents), versions, downloads and feedback.
    static func registerHashLists(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v4-hash-lists") { db in
            try db.execute(
                sql: """
                    CREATE TABLE hash_lists (
                        position INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        name TEXT NOT NULL UNIQUE,
                        audience TEXT NOT NULL,
                        hash_types TEXT NOT NULL,
                        uk_grades TEXT NOT NULL,
                        created_at REAL NOT NULL,
                        updated_at REAL NOT NULL,
                        last_seq INTEGER NOT NULL DEFAULT 0,
                        purged_through INTEGER NOT NULL DEFAULT 0,
                        entry_count INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE TABLE hash_list_grants (
                        list_id TEXT NOT NULL REFERENCES hash_lists(id),
                        partner_id TEXT NOT NULL REFERENCES partners(id),
                        PRIMARY KEY (list_id, partner_id)
                    );
                    CREATE INDEX hash_list_grants_partner ON hash_list_grants(partner_id);
                    CREATE TABLE hash_list_entries (
                        list_id TEXT NOT NULL REFERENCES hash_lists(id),
                        number INTEGER NOT NULL,
                        id TEXT NOT NULL UNIQUE,
                        key TEXT NOT NULL,
                        case_id TEXT,
                        created_at REAL NOT NULL,
                        deleted_at REAL,
                        seq INTEGER NOT NULL,
                        purged INTEGER NOT NULL DEFAULT 0,
                        PRIMARY KEY (list_id, number),
                        UNIQUE (list_id, key)
                    );
                    CREATE INDEX hash_list_entries_deleted ON hash_list_entries(list_id, deleted_at)
                        WHERE deleted_at IS NOT NULL AND purged = 0;
                    CREATE TABLE hash_list_changes (
                        list_id TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        entry_number INTEGER NOT NULL,
                        entry_id TEXT NOT NULL,
                        op TEXT NOT NULL,
                        superseded_by INTEGER,
                        media_type TEXT NOT NULL,
                        md5 TEXT, sha1 TEXT, sha256 TEXT, pdq TEXT, pdq_quality INTEGER,
                        uk_grade TEXT NOT NULL,
                        classification TEXT,
                        updated_at REAL NOT NULL,
                        reason TEXT,
                        line BLOB NOT NULL,
                        PRIMARY KEY (list_id, seq)
                    ) WITHOUT ROWID;
                    CREATE INDEX hash_list_changes_entry ON hash_list_changes(list_id, entry_number);
                    CREATE TABLE hash_list_versions (
                        list_id TEXT NOT NULL REFERENCES hash_lists(id),
                        version INTEGER NOT NULL,
                        seq INTEGER NOT NULL,
                        entry_count INTEGER NOT NULL,
                        created_at REAL NOT NULL,
                        expires_at REAL NOT NULL,
                        manifest BLOB NOT NULL,
                        jws TEXT NOT NULL,
                        PRIMARY KEY (list_id, version)
                    );
                    CREATE TABLE hash_list_downloads (
                        position INTEGER PRIMARY KEY AUTOINCREMENT,
                        list_id TEXT NOT NULL REFERENCES hash_lists(id),
                        version INTEGER NOT NULL,
                        format TEXT NOT NULL,
                        hash TEXT,
                        partner_id TEXT,
                        token_id TEXT NOT NULL,
                        actor TEXT NOT NULL,
                        bytes INTEGER NOT NULL,
                        gzip INTEGER NOT NULL,
                        at REAL NOT NULL
                    );
                    CREATE INDEX hash_list_downloads_list ON hash_list_downloads(list_id, position);
                    CREATE TABLE hash_list_feedback (
                        position INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        list_id TEXT NOT NULL REFERENCES hash_lists(id),
                        entry_id TEXT NOT NULL,
                        partner_id TEXT,
                        verdict TEXT NOT NULL,
                        comment TEXT,
                        created_at REAL NOT NULL,
                        status TEXT NOT NULL,
                        resolved_at REAL,
                        resolved_by TEXT,
                        note TEXT
                    );
                    CREATE INDEX hash_list_feedback_list ON hash_list_feedback(list_id, status, position);
                    """)
        }
    }
}
