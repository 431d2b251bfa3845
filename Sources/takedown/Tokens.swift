import ArgumentParser
import Foundation
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
            let issued = try await GatewayComposition.withStore(try store.settings()) { opened in
                try await TakedownService.Gateway.createStaffToken(role: role, name: name, in: opened, at: Date())
            }
            FileHandle.standardError.write(Data("created \(issued.record.id) (\(role.rawValue), \(name))\n".utf8))
            print(issued.secret)
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by its id (tok_…).")
        @Argument(help: "The token id.") var id: String
        @OptionGroup var store: StoreOptions

        func run() async throws {
            guard let id = TokenID.parse(id) else { throw ValidationError("\(self.id) is not a token id") }
            try await GatewayComposition.withStore(try store.settings()) { opened in
                try await TakedownService.Gateway.revokeToken(id, in: opened, at: Date())
            }
            print("revoked \(id)")
        }
    }
}
