import ArgumentParser
import Foundation
import Logging
import TakedownModel
import TakedownServer
import TakedownService

/// Staff tokens from the command line, for the first admin or when the API is out of reach.
struct Tokens: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create and revoke staff API tokens.", subcommands: [Create.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a new staff token (shown once).")
        @Option(help: "admin or analyst") var role: String
        @Option(help: "Who holds the token.") var name: String
        @OptionGroup var store: StoreOptions

        func run() async throws {
            guard let role = TokenRole(rawValue: role), role != .partner else {
                throw ValidationError("--role must be admin or analyst")
            }
            let gateway = try await Self.gateway(store)
            let issued = try await gateway.createStaffToken(role: role, name: name)
            FileHandle.standardError.write(Data("created \(issued.record.id) (\(role.rawValue), \(name))\n".utf8))
            print(issued.secret)
        }

        static func gateway(_ options: StoreOptions) async throws -> TakedownService.Gateway {
            let settings = try options.settings()
            let store = try await GatewayComposition.store(settings)
            return try await GatewayComposition.gateway(settings, store: store, logger: Logger(label: "takedown.tokens"))
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by its id (tok_…).")
        @Argument(help: "The token id.") var id: String
        @OptionGroup var store: StoreOptions

        func run() async throws {
            guard let id = TokenID.parse(id) else { throw ValidationError("\(self.id) is not a token id") }
            try await Create.gateway(store).revokeToken(id)
            print("revoked \(id)")
        }
    }
}
