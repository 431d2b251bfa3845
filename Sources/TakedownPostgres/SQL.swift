import PostgresNIO

/// A statement assembled piece by piece (optional filters), every value bound as a parameter.
struct SQL {
    private var text: String
    private var bindings = PostgresBindings()

    init(_ text: String) { self.text = text }

    mutating func append(_ text: String) { self.text += text }

    /// Appends a `$n` placeholder bound to `value`.
    mutating func bind<Value: PostgresDynamicTypeEncodable>(_ value: Value) {
        bindings.append(value)
        text += "$\(bindings.count)"
    }

    /// One value of a row in a multi-row statement; nil binds NULL.
    struct Value {
        fileprivate let add: (inout PostgresBindings) throws -> Void

        static func v<Wrapped: PostgresDynamicTypeEncodable>(_ value: Wrapped?) -> Value {
            Value { $0.append(value) }
        }

        /// A value whose encoding may fail (`Data`).
        static func v<Wrapped: PostgresThrowingDynamicTypeEncodable>(_ value: Wrapped?) -> Value {
            Value { try $0.append(value) }
        }
    }

    /// Appends `(…), (…)`: one parenthesised group of placeholders per element, bound to what `row` gives.
    mutating func appendRows<Element>(_ elements: some Sequence<Element>, _ row: (Element) -> [Value]) throws {
        for (index, element) in elements.enumerated() {
            text += index == 0 ? "(" : ", ("
            for (column, value) in row(element).enumerated() {
                if column > 0 { text += ", " }
                try value.add(&bindings)
                text += "$\(bindings.count)"
            }
            text += ")"
        }
    }

    var query: PostgresQuery { PostgresQuery(unsafeSQL: text, binds: bindings) }
}

extension PostgresStore.Transaction {
    /// Inserts rows in as few multi-row statements as PostgreSQL's limit of 65,535 parameters allows:
    /// `head` is the statement up to `VALUES`, `tail` what follows the rows (`ON CONFLICT …`, `RETURNING …`).
    /// Rows go in the order given, so identity columns number them in that order.
    func insertRows<Element>(
        _ head: String, _ elements: [Element], columns: Int, tail: String = "", _ row: (Element) -> [SQL.Value]
    ) async throws {
        let perStatement = max(1, 60_000 / max(columns, 1))
        var start = elements.startIndex
        while start < elements.endIndex {
            let end = min(start + perStatement, elements.endIndex)
            var sql = SQL(head + " VALUES ")
            try sql.appendRows(elements[start..<end], row)
            sql.append(tail)
            try await run(sql.query)
            start = end
        }
    }
}
