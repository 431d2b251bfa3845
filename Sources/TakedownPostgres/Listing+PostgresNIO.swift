import PostgresNIO
import TakedownStore

extension Listing {
    /// The listing as a PostgreSQL statement, every value bound as a parameter.
    var query: PostgresQuery { PostgresQuery(sql(.postgres)) }
}

extension PostgresQuery {
    /// A statement written once for both stores, with its values in placeholder order.
    init(_ statement: (String, [SQLValue])) {
        var bindings = PostgresBindings()
        for value in statement.1 {
            switch value {
            case .text(let text): bindings.append(text)
            case .double(let number): bindings.append(number)
            case .integer(let number): bindings.append(number)
            case .texts(let list): bindings.append(list)
            }
        }
        self.init(unsafeSQL: statement.0, binds: bindings)
    }
}
