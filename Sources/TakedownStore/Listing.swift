import Foundation

/// Which SQL a statement written once for both stores is rendered in: the texts differ in placeholders
/// (`?` or `$n`), in how a list is matched, and in a few functions.
public enum SQLDialect: Sendable {
    case sqlite, postgres
}

/// A value bound to a placeholder of a statement written once for both stores.
public enum SQLValue: Sendable, Equatable {
    case text(String)
    case double(Double)
    case integer(Int64)
    /// Matched as a whole by `Listing.Condition.oneOf`: one placeholder per element on SQLite, one array on
    /// PostgreSQL.
    case texts([String])
}

/// A listing's SELECT written once for both stores: the fixed head, the conditions its filters ask for, the
/// order and the limit. Which filter reads which column is decided here, once; each store renders the text
/// in its dialect, binds the values and reads the rows.
public struct Listing: Sendable, Equatable {
    /// One condition of the WHERE.
    public struct Condition: Sendable, Equatable {
        var column: String
        var comparison: String
        /// Nil for a condition given whole, with no value (`require`).
        var value: SQLValue?

        /// `column comparison value`, with `comparison` one of `=`, `<`, `<=`, `>`, `>=`, `<>`.
        public init(_ column: String, _ comparison: String = "=", _ value: SQLValue) {
            self.init(column: column, comparison: comparison, value: value)
        }

        init(column: String, comparison: String, value: SQLValue?) {
            self.column = column
            self.comparison = comparison
            self.value = value
        }

        /// The column holds one of `values`.
        public static func oneOf(_ column: String, _ values: [String]) -> Condition {
            Condition(column, "IN", .texts(values))
        }
    }

    public var head: String
    public private(set) var conditions: [Condition] = []
    public var order: String?
    public var limit: Int?

    /// `head` is the statement up to its WHERE (`SELECT … FROM …`); `order` what follows `ORDER BY`.
    public init(_ head: String, order: String? = nil, limit: Int? = nil) {
        self.head = head
        self.order = order
        self.limit = limit
    }

    /// Adds `column comparison value` when `value` is there: an absent filter adds nothing.
    public mutating func filter(_ column: String, _ comparison: String, _ value: SQLValue?) {
        if let value { conditions.append(Condition(column, comparison, value)) }
    }

    /// Adds `column = value` when `value` is there.
    public mutating func filter(_ column: String, _ value: SQLValue?) {
        filter(column, "=", value)
    }

    /// Adds a condition given whole, with no value (`EXISTS (…)`).
    public mutating func require(_ condition: String) {
        conditions.append(Condition(column: condition, comparison: "", value: nil))
    }

    /// Adds that the column holds one of `values` when they are given.
    public mutating func filter(_ column: String, oneOf values: [String]?) {
        if let values { conditions.append(.oneOf(column, values)) }
    }

    /// The conditions joined by AND (`true` when there are none), numbering PostgreSQL placeholders from
    /// `first`, with the values in placeholder order.
    public func whereClause(_ dialect: SQLDialect, firstPlaceholder first: Int = 1) -> (String, [SQLValue]) {
        var values: [SQLValue] = []
        func placeholder(_ value: SQLValue) -> String {
            switch dialect {
            case .sqlite:
                values.append(value)
                return "?"
            case .postgres:
                values.append(value)
                return "$\(first + values.count - 1)"
            }
        }
        let clauses = conditions.map { condition -> String in
            guard let value = condition.value else { return condition.column }
            guard case .texts(let list) = value else {
                return "\(condition.column) \(condition.comparison) \(placeholder(value))"
            }
            switch dialect {
            case .sqlite:
                // An empty list matches nothing, as `= ANY('{}')` does on PostgreSQL.
                guard !list.isEmpty else { return "0 = 1" }
                return "\(condition.column) IN (\(list.map { placeholder(.text($0)) }.joined(separator: ", ")))"
            case .postgres:
                return "\(condition.column) = ANY(\(placeholder(value)))"
            }
        }
        return (clauses.isEmpty ? "1 = 1" : clauses.joined(separator: " AND "), values)
    }

    /// The whole statement in `dialect`, with its values in placeholder order.
    public func sql(_ dialect: SQLDialect) -> (String, [SQLValue]) {
        var (text, values) = whereClause(dialect)
        text = head + " WHERE " + text
        if let order { text += " ORDER BY " + order }
        if let limit {
            values.append(.integer(Int64(limit)))
            text += dialect == .sqlite ? " LIMIT ?" : " LIMIT $\(values.count)"
        }
        return (text, values)
    }
}
