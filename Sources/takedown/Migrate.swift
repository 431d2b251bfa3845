import ArgumentParser
import TakedownSQLite
import TakedownServer

/// Creates or upgrades the schema and reports what is applied.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create or upgrade the database schema.")

    @OptionGroup var store: StoreOptions

    func run() async throws {
        let settings = try store.settings()
        let opened = try await GatewayComposition.store(settings)
        if let sqlite = opened as? SQLiteStore {
            for name in try await sqlite.appliedMigrations() { print("applied \(name)") }
        }
        print("schema is up to date")
    }
}
