import TakedownModel

extension Gateway {
    /// The store position an `after` cursor names (0 when there is none), or a 400 naming `after`.
    static func position(after cursor: String?) throws -> Int64 {
        guard let cursor else { return 0 }
        guard let position = Cursor.decode(cursor) else {
            throw GatewayError.badParameter(name: "after", reason: "is not a cursor this gateway issued")
        }
        return position
    }
}
