import ArgumentParser
import Foundation
import TakedownServer
import TakedownService
import TakedownSigning

/// Manages the notice signing keys in the store, which every instance shares.
struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, rotate, list and import notice signing keys.",
        discussion: """
            Signing keys live in the store, sealed with the secrets key (TAKEDOWN_SECRETS_KEY, \
            TAKEDOWN_SECRETS_KEY_FILE, or keys/secrets.key in the data folder). Running gateways read them \
            again every TAKEDOWN_KEY_REFRESH_SECONDS (default 10).
            """,
        subcommands: [Create.self, Rotate.self, List.self, Import.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create the first signing key if there is none.")
        @OptionGroup var store: StoreOptions

        func run() async throws {
            try await GatewayComposition.withStore(try store.settings()) { store in
                if let active = try await SigningKeys.load(store).active {
                    print("an active key exists already: \(active.kid)")
                    return
                }
                guard let key = try await SigningKeys.ensure(store, at: Date()).active else {
                    throw ValidationError("no active key could be made")
                }
                print("created \(key.kid)")
            }
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a new active key; older keys stay published so their notices still verify.",
            discussion: "Running gateways sign with the new key within TAKEDOWN_KEY_REFRESH_SECONDS.")
        @OptionGroup var store: StoreOptions

        func run() async throws {
            try await GatewayComposition.withStore(try store.settings()) { store in
                print("active \(try await SigningKeys.rotate(store, at: Date()).kid)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys: id, state, creation and retirement.")
        @OptionGroup var store: StoreOptions

        func run() async throws {
            try await GatewayComposition.withStore(try store.settings()) { store in
                for key in try await SigningKeys.load(store).keys {
                    let state = key.retiredAt == nil ? "active " : "retired"
                    let retired = key.retiredAt.map { " retired \($0.formatted(.iso8601))" } ?? ""
                    print("\(key.kid)  \(state)  created \(key.createdAt.formatted(.iso8601))\(retired)")
                }
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move the key files of an earlier version's key folder into the store.",
            discussion: """
                Reads every *.key.json in --from (default: keys/ in the data folder). Keys the store holds \
                already are left alone; when the store has an active key, the folder's active key is stored \
                retired. The files stay; remove them once every instance runs this version.
                """)
        @OptionGroup var store: StoreOptions
        @Option(help: "The key folder to read (default: keys/ in the data folder).") var from: String?

        func run() async throws {
            let settings = try store.settings()
            let folder = try KeyFolder(directory: from.map(URL.init(fileURLWithPath:)) ?? settings.keysDirectory)
            guard !folder.keys.isEmpty else {
                throw ValidationError("no key files (*.key.json) in \(folder.directory.path)")
            }
            try await GatewayComposition.withStore(settings) { store in
                for result in try await SigningKeys.importFolder(folder, into: store, at: Date()) {
                    switch result {
                    case .stored(let kid): print("imported \(kid)")
                    case .storedRetired(let kid): print("imported \(kid), retired: the store has an active key")
                    case .present(let kid): print("present  \(kid)")
                    }
                }
            }
        }
    }
}
