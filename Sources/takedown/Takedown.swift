import ArgumentParser

/// `takedown`: the gateway's one executable. `serve` is the default.
@main
struct Takedown: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "takedown",
        abstract: "Takedown Gateway: signed takedown notices for hosting providers.",
        subcommands: [
            Serve.self, Worker.self, Migrate.self, Keys.self, Tokens.self, Export.self, Verify.self, DoctorCommand.self,
            ASN.self,
        ],
        defaultSubcommand: Serve.self)
}
