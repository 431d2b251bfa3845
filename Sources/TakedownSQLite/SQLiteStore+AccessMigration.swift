import GRDB

extension SQLiteStore {
    /// Token expiry, last use and listing order; partner suspension.
    static func registerAccess(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v6-access") { db in
            try db.execute(
                sql: """
                    ALTER TABLE tokens ADD COLUMN expires_at REAL;
                    ALTER TABLE tokens ADD COLUMN last_used_at REAL;
                    -- A listing cursor that survives VACUUM (rowids of a table without an INTEGER PRIMARY KEY
                    -- may change): existing tokens keep their insertion order.
                    ALTER TABLE tokens ADD COLUMN position INTEGER;
                    UPDATE tokens SET position = rowid;
                    CREATE UNIQUE INDEX tokens_position ON tokens(position);
                    CREATE INDEX tokens_partner ON tokens(partner_id, position);
                    ALTER TABLE partners ADD COLUMN suspended_at REAL;
                    ALTER TABLE partners ADD COLUMN suspension_reason TEXT;
                    """)
        }
    }
}
