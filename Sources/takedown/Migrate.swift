import ArgumentParser
import TakedownPostgres
import TakedownSQLite
import TakedownServer

/// Creates or upgrades the schema and reports what is applied.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create or upgrade the database schema.")

    @OptionGroup var store: StoreOptions

    func run() async throws {
        let settings = try store.settings()
        let applied = try await GatewayComposition.withStore(settings) { opened in
            if let sqlite = opened as? SQLiteStore { return try await sqlite.appliedMigrations() }
            if let postgres = opened as? PostgresStore { return try await postgres.appliedMigrations() }
            return []
        }
        for name in applied { print("applied \(name)") }
        print("schema is up to date")
    }
}
