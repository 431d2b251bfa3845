import ArgumentParser
import Crypto
import Foundation
import TakedownDocuments
import TakedownModel
import TakedownServer
import TakedownService

/// Writes one export of a published hash-list version straight from the store, without the API.
struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a hash-list version's export to a file (no API needed).",
        discussion: "The file is byte for byte what the API serves; its SHA-256 is checked against the manifest.")

    @Option(help: "The list's name or id (hl_…).") var list: String
    @Option(help: "ndjson, csv, text or vics.") var format: String
    @Option(help: "For text: md5, sha1, sha256 or pdq (default: the list's first).") var hash: String?
    @Option(help: "A version number, or latest.") var version = "latest"
    @Option(help: "The file to write.") var out: String
    @OptionGroup var store: StoreOptions

    func run() async throws {
        let settings = try store.settings()
        let logger = Logs.bootstrap(.warning)
        try await GatewayComposition.withStore(settings) { opened in
            let gateway = try await GatewayComposition.gateway(settings, store: opened, logger: logger)
            let list = try await gateway.hashListDesk.hashList(named: self.list)
            let version = try await gateway.hashListDesk.version(of: list, self.version)
            let kind = try gateway.hashListDesk.exportKind(of: version, format: format, hash: hash)
            guard FileManager.default.createFile(atPath: out, contents: nil) else {
                throw ValidationError("cannot create \(out)")
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
            var digest = SHA256()
            var bytes: Int64 = 0
            try await gateway.hashListDesk.writeExport(of: version, list: list, kind: kind) { chunk in
                digest.update(data: chunk)
                bytes += Int64(chunk.count)
                try handle.write(contentsOf: chunk)
            }
            try handle.close()
            let sha256 = Hex.encode(digest.finalize())
            let manifest = try WireFormat.decoder().decode(HashListManifest.self, from: version.manifest)
            guard let expected = manifest.export(kind), expected.sha256 == sha256, expected.bytes == bytes else {
                FileHandle.standardError.write(Data("MISMATCH: \(out) does not match the manifest\n".utf8))
                throw ExitCode(1)
            }
            print("wrote \(out): \(list.name) version \(version.version), \(bytes) bytes, sha256 \(sha256)")
        }
    }
}
