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

extension MigrationState {
    /// Applied migration names in the order the gateway applies them, then unknown ones by name: names
    /// sort wrongly as text once there are ten (`v10` before `v2`).
    public static func ordered(_ applied: Set<String>, known: [String]) -> [String] {
        known.filter(applied.contains) + applied.subtracting(known).sorted()
    }
}
