extension PostgresStore {
    /// Token expiry, last use and listing order; partner suspension.
    static let accessSchema = [
        "ALTER TABLE tokens ADD COLUMN expires_at double precision",
        "ALTER TABLE tokens ADD COLUMN last_used_at double precision",
        // Existing rows are numbered as the column is added. Identity values are taken at insert, not at
        // commit: a token created while an admin pages the list may appear behind the cursor (tokens are
        // few and made by hand, so a listing does not pay for commit-ordered positions).
        "ALTER TABLE tokens ADD COLUMN position bigint GENERATED ALWAYS AS IDENTITY",
        "CREATE UNIQUE INDEX tokens_position ON tokens(position)",
        "CREATE INDEX tokens_partner ON tokens(partner_id, position)",
        "ALTER TABLE partners ADD COLUMN suspended_at double precision",
        "ALTER TABLE partners ADD COLUMN suspension_reason text",
    ]
}
