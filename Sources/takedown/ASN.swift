import ArgumentParser
import Foundation
import TakedownModel
import TakedownServer

/// The IP-to-ASN table intake traces item addresses with.
struct ASN: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "asn", abstract: "Import and query the IP-to-ASN table.", subcommands: [Import.self, Lookup.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace the IP-to-ASN table with a tab-separated file.",
            discussion: """
                Lines are `CIDR<TAB>AS<TAB>COUNTRY[<TAB>NAME]` or, as the public ip2asn tables have them, \
                `FIRST<TAB>LAST<TAB>AS<TAB>COUNTRY[<TAB>NAME]`; `#` comments and blank lines are skipped and AS 0 \
                (not routed) is dropped. The file is taken whole or not at all: a malformed line or overlapping \
                ranges refuse it, naming the lines, and the table stays as it was.
                """)
        @Argument(help: "The table file, or - for standard input.") var file: String
        @OptionGroup var store: StoreOptions

        func run() async throws {
            let data: Data
            if file == "-" {
                data = FileHandle.standardInput.readDataToEndOfFile()
            } else {
                guard let read = FileManager.default.contents(atPath: file) else {
                    throw ValidationError("cannot read \(file)")
                }
                data = read
            }
            guard let text = String(data: data, encoding: .utf8) else { throw ValidationError("\(file) is not UTF-8") }
            let table: ASNTable
            do {
                table = try ASNTable.parse(text)
            } catch {
                FileHandle.standardError.write(Data("\(file) was not imported:\n\(error)\n".utf8))
                throw ExitCode(1)
            }
            try await GatewayComposition.withStore(try store.settings()) { opened in
                try await opened.replaceASNTable(table.ranges)
            }
            print("imported \(table.ranges.count) ranges (\(table.dropped) of AS 0 dropped)")
        }
    }

    struct Lookup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the AS of each address.")
        @Argument(help: "IPv4 or IPv6 addresses.") var addresses: [String]
        @OptionGroup var store: StoreOptions

        func run() async throws {
            let parsed = try addresses.map { text in
                guard let address = IPAddress(text) else { throw ValidationError("\(text) is not an IP address") }
                return address
            }
            let found = try await GatewayComposition.withStore(try store.settings()) { opened in
                try await opened.asnRanges(containing: parsed)
            }
            for address in parsed {
                guard let range = found[address] else {
                    print("\(address)\tnot in the table")
                    continue
                }
                print(
                    "\(address)\tAS\(range.asn)\t\(range.country ?? "-")\t\(range.name ?? "-")\t\(range.first)–\(range.last)"
                )
            }
        }
    }
}
