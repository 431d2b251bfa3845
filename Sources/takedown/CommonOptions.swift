import ArgumentParser
import Logging
import TakedownServer

/// Options every subcommand that touches the store shares; flags win over `TAKEDOWN_*`.
struct StoreOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "SQLite database and key files (TAKEDOWN_DATA_DIR, default ./data).")
    var dataDirectory: String?

    @Option(name: .customLong("database-url"), help: "PostgreSQL instead of SQLite (TAKEDOWN_DATABASE_URL).")
    var databaseURL: String?

    func settings() throws -> ServerSettings {
        var settings = try ServerSettings()
        if let dataDirectory { settings.dataDirectory = dataDirectory }
        if let databaseURL { settings.databaseURL = databaseURL }
        return settings
    }
}

enum Logs {
    /// Structured lines on standard error at the configured level.
    static func bootstrap(_ level: Logger.Level) -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: "takedown")
    }
}
