import Foundation
import GRDB
import TakedownModel
import TakedownStore

extension SQLiteStore {
    /// The IP-to-ASN table, keyed by each range's first address as 16 bytes, and each case item's trace.
    static func registerHostingTrace(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v9-hosting-trace") { db in
            try db.execute(
                sql: """
                    CREATE TABLE asn_ranges (
                        first BLOB PRIMARY KEY,
                        last BLOB NOT NULL,
                        asn INTEGER NOT NULL,
                        country TEXT,
                        name TEXT
                    ) WITHOUT ROWID;
                    ALTER TABLE case_items ADD COLUMN trace TEXT;
                    """)
        }
    }

    public func replaceASNTable(_ ranges: [ASNRange]) async throws {
        try await guarded {
            try await write { db in
                try db.execute(sql: "DELETE FROM asn_ranges")
                let statement = try db.cachedStatement(
                    sql: "INSERT INTO asn_ranges (first, last, asn, country, name) VALUES (?, ?, ?, ?, ?)")
                for range in ranges {
                    try statement.execute(arguments: [
                        Data(range.first.rangeKey), Data(range.last.rangeKey), range.asn, range.country, range.name,
                    ])
                }
            }
        }
    }

    public func asnRanges(containing addresses: [IPAddress]) async throws -> [IPAddress: ASNRange] {
        guard !addresses.isEmpty else { return [:] }
        return try await guarded {
            try await pool.read { db in
                var found: [IPAddress: ASNRange] = [:]
                let statement = try db.cachedStatement(
                    sql: "SELECT * FROM asn_ranges WHERE first <= ? ORDER BY first DESC LIMIT 1")
                for address in Set(addresses) {
                    guard let row = try Row.fetchOne(statement, arguments: [Data(address.rangeKey)]),
                        let range = Self.asnRange(row), range.contains(address)
                    else { continue }
                    found[address] = range
                }
                return found
            }
        }
    }

    public func asnRangeCount() async throws -> Int {
        try await guarded {
            try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM asn_ranges") ?? 0 }
        }
    }

    static func asnRange(_ row: Row) -> ASNRange? {
        guard let first = IPAddress(rangeKey: Array(row["first"] as Data)),
            let last = IPAddress(rangeKey: Array(row["last"] as Data))
        else { return nil }
        return ASNRange(first: first, last: last, asn: row["asn"], country: row["country"], name: row["name"])
    }
}
