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
        @Option(help: "When the token stops working (RFC 3339, e.g. 2027-01-31T00:00:00Z); none by default.")
        var expiresAt: String?
        @OptionGroup var store: StoreOptions

        func run() async throws {
            guard let role = TokenRole(rawValue: role), role != .partner else {
                throw ValidationError("--role must be admin or analyst")
            }
            var expiry: Date?
            if let expiresAt {
                guard let date = Timestamp.parse(expiresAt) else {
                    throw ValidationError("--expires-at must be an RFC 3339 date-time such as 2027-01-31T00:00:00Z")
                }
                guard date > Date() else { throw ValidationError("--expires-at must be in the future") }
                expiry = date
            }
            let issued = try await GatewayComposition.withStore(try store.settings()) { [expiry] opened in
                try await TakedownService.TokenDesk.createStaffToken(
                    role: role, name: name, expiresAt: expiry, in: opened, at: Date())
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
                try await TakedownService.TokenDesk.revokeToken(id, in: opened, at: Date())
            }
            print("revoked \(id)")
        }
    }
}
