/// How a database's schema compares with the gateway reading it: the migrations this gateway knows and the
/// database has not applied (`takedown migrate` applies them), and applied ones it does not know (a newer
/// gateway wrote the database).
public struct MigrationState: Sendable, Equatable {
    public var pending: [String]
    public var unknown: [String]

    public init(known: [String], applied: [String]) {
        pending = known.filter { !applied.contains($0) }
        unknown = applied.filter { !known.contains($0) }.sorted()
    }

    public var isCurrent: Bool { pending.isEmpty && unknown.isEmpty }
}
