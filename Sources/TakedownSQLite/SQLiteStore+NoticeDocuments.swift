import Foundation
import GRDB

/// A notice's signed document and signature live in a table of their own, keyed by the notice's position.
///
/// SQLite writes a row whole: with the document in the notice's row, every answer, delivery and clock step
/// rewrote a few kilobytes of overflow pages it never changed, and reading a column stored after the
/// document walked through them. Measured on the bulk-answer benchmark, the write of 1,000 acknowledged
/// notices took 40 ms and their read 12 ms with the document in the row (`BENCHMARKS.md`).
extension SQLiteStore {
    static func registerNoticeDocuments(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v14-notice-documents") { db in
            try db.execute(
                sql: """
                    CREATE TABLE notice_documents (
                        position INTEGER PRIMARY KEY REFERENCES notices(position),
                        document BLOB NOT NULL,
                        jws TEXT NOT NULL
                    );
                    INSERT INTO notice_documents (position, document, jws) SELECT position, document, jws FROM notices;
                    ALTER TABLE notices DROP COLUMN document;
                    ALTER TABLE notices DROP COLUMN jws;
                    CREATE VIEW notice_rows AS
                        SELECT n.*, d.document AS document, d.jws AS jws
                        FROM notices n JOIN notice_documents d ON d.position = n.position;
                    """)
        }
    }

    /// Stores an inserted notice's document and signature.
    static func insertDocument(_ document: Data, jws: String, position: Int64, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO notice_documents (position, document, jws) VALUES (?, ?, ?)")
            .execute(arguments: [position, document, jws])
    }
}
