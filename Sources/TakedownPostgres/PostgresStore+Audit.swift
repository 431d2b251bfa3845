import Foundation
import PostgresNIO
import TakedownModel
import TakedownStore

extension PostgresStore {
    /// `v7-audit`: the append-only audit trail; a trigger refuses any update or delete.
    static let auditSchema = [
        """
        CREATE TABLE audit_log (
            position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at double precision NOT NULL,
            actor text NOT NULL,
            token_id text NOT NULL,
            action text NOT NULL,
            target text,
            summary text NOT NULL,
            client text NOT NULL
        )
        """,
        "CREATE INDEX audit_log_actor ON audit_log(actor, position)",
        "CREATE INDEX audit_log_target ON audit_log(target, position)",
        """
        CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$
        """,
        """
        CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
            FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()
        """,
    ]

    static func insertAudit(_ entry: AuditEntry, _ transaction: Transaction) async throws {
        try await insertAudit([entry], transaction)
    }

    static func insertAudit(_ entries: [AuditEntry], _ transaction: Transaction) async throws {
        try await transaction.insertRows(
            "INSERT INTO audit_log (at, actor, token_id, action, target, summary, client)", entries, columns: 7
        ) { entry in
            [
                .v(entry.at.stored), .v(entry.actor), .v(entry.tokenId.rawValue), .v(entry.action), .v(entry.target),
                .v(entry.summary), .v(entry.client),
            ]
        }
        try await log(entries.map(LogEntry.audit), transaction)
    }

    public func auditEntries(actor: String?, target: String?, after position: Int64, limit: Int) async throws
        -> [(position: Int64, entry: AuditEntry)]
    {
        var sql = SQL("SELECT * FROM audit_log WHERE position > ")
        sql.bind(position)
        if let actor {
            sql.append(" AND actor = ")
            sql.bind(actor)
        }
        if let target {
            sql.append(" AND target = ")
            sql.bind(target)
        }
        sql.append(" ORDER BY position LIMIT ")
        sql.bind(Int64(limit))
        return try await rows(sql.query).map { row in
            (
                position: try row.get("position"),
                entry: AuditEntry(
                    actor: try row.get("actor"), tokenId: TokenID(rawValue: try row.get("token_id")),
                    at: try row.date("at"), action: try row.get("action"),
                    target: try row.get("target", as: String?.self), summary: try row.get("summary"),
                    client: try row.get("client"))
            )
        }
    }
}
