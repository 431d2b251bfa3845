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

    var query: PostgresQuery { PostgresQuery(unsafeSQL: text, binds: bindings) }
}
