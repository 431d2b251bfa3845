import GRDB
import TakedownStore

extension StatementArguments {
    /// Values of a statement written once for both stores, in placeholder order.
    init(_ values: [SQLValue]) {
        self.init(
            values.map { value -> (any DatabaseValueConvertible)? in
                switch value {
                case .text(let text): text
                case .double(let number): number
                case .integer(let number): number
                // Never bound whole: SQLite's rendering gives each element its own placeholder.
                case .texts(let list): list.joined(separator: ",")
                }
            })
    }
}

extension Row {
    /// The rows of a listing written once for both stores.
    static func fetchAll(_ db: Database, _ listing: Listing) throws -> [Row] {
        let (sql, values) = listing.sql(.sqlite)
        return try fetchAll(db, sql: sql, arguments: StatementArguments(values))
    }
}
