import ArgumentParser
import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import TakedownModel
import TakedownService
import TakedownSigning

/// Checks a notice's or hash-list manifest's signature offline (against a JWKS file) or against a JWKS
/// URL, and export files against a manifest.
struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify a notice's or manifest's compact JWS against a JWKS file or URL, and its place in the log.",
        discussion: """
            The file holds the compact JWS, or the notice or manifest JSON with its `jws` field. With --export, each \
            file's SHA-256 and size must match an export the signed manifest lists.

            With --log (the record's proofs, from `/v1/notices/{id}/proof` or \
            `/v1/hash-lists/{id}/versions/{n}/proof`) and --log-key (the log's verifier key, from \
            `/.well-known/takedown-log-key`), the proofs' checkpoint must be signed by the log's key, every entry \
            must be in its tree, and the record must be what the log holds: the document's SHA-256, and for a \
            notice's JSON every step of its timeline, no more and no fewer. With --since (a checkpoint kept \
            earlier) and --consistency (`/v1/log/consistency?first=OLD&second=NEW`), the tree must extend the old \
            one. Without a record, --checkpoint names the newer checkpoint. Exit status 0 means valid.
            """)

    @Argument(help: "Notice or manifest file (compact JWS or JSON); - reads standard input.") var notice: String?
    @Option(help: "JWKS file path or http(s) URL (needed with a notice or manifest).") var jwks: String?
    @Option(name: .customLong("export"), help: "An export file to check against the manifest (repeatable).")
    var exports: [String] = []
    @Option(help: "The record's log proofs (JSON file or URL).") var log: String?
    @Option(help: "The log's verifier key: the text itself, or a file or URL holding it.") var logKey: String?
    @Option(help: "A signed checkpoint to check (file or URL), when no --log proofs give one.") var checkpoint: String?
    @Option(help: "A checkpoint kept earlier (file) that the current tree must extend.") var since: String?
    @Option(help: "The consistency proof from --since to the newer checkpoint (JSON file or URL).")
    var consistency: String?

    func run() async throws {
        guard notice != nil || log != nil || checkpoint != nil else {
            throw ValidationError("give a notice or manifest, or --log or --checkpoint")
        }
        var record: (input: Data, compact: String)?
        if let notice {
            guard let jwks else { throw ValidationError("a notice or manifest needs --jwks") }
            let input =
                notice == "-"
                ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: notice))
            let compact = try Self.compactJWS(in: input)
            let keys = try JSONDecoder().decode(JWKSet.self, from: try await Self.load(jwks))
            do {
                let (header, payload) = try JWS.verify(compact, keys: keys)
                print("valid signature, key \(header.kid), alg \(header.alg)")
                if !exports.isEmpty {
                    try Self.checkManifestObject(in: input, matches: payload)
                    try checkExports(against: payload)
                } else if log == nil {
                    print(String(decoding: payload, as: UTF8.self))
                }
            } catch let error as JWS.VerificationError {
                FileHandle.standardError.write(Data("INVALID: \(error)\n".utf8))
                throw ExitCode(1)
            }
            record = (input, compact)
        }
        if log != nil || checkpoint != nil {
            do {
                try await checkLog(record: record)
            } catch let failure as LogVerifier.Failure {
                throw Self.fail(failure.description)
            }
        }
    }

    /// Each export file's SHA-256 and size must be one of the manifest's exports.
    func checkExports(against payload: Data) throws {
        guard let manifest = try JSONSerialization.jsonObject(with: payload) as? [String: Any],
            let listed = manifest["exports"] as? [[String: Any]]
        else { throw Self.fail("the signed payload is not a hash-list manifest") }
        for path in exports {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            var digest = SHA256()
            var size = 0
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                digest.update(data: chunk)
                size += chunk.count
            }
            let sha256 = Hex.encode(digest.finalize())
            guard
                let match = listed.first(where: {
                    $0["sha256"] as? String == sha256 && ($0["bytes"] as? NSNumber)?.intValue == size
                })
            else { throw Self.fail("\(path) (sha256 \(sha256), \(size) bytes) is not an export of this manifest") }
            let hash = (match["hash"] as? String).map { " \($0)" } ?? ""
            print("export \(path): matches \(match["format"] ?? "?")\(hash), \(size) bytes, sha256 \(sha256)")
        }
    }

    /// When the file is `{"manifest": …, "jws": …}`, the readable manifest must be the signed one.
    static func checkManifestObject(in input: Data, matches payload: Data) throws {
        guard let object = try? JSONSerialization.jsonObject(with: input) as? [String: Any],
            let shown = object["manifest"]
        else { return }
        let signed = try JSONSerialization.jsonObject(with: payload)
        let options: JSONSerialization.WritingOptions = [.sortedKeys]
        guard
            try JSONSerialization.data(withJSONObject: shown, options: options)
                == JSONSerialization.data(withJSONObject: signed, options: options)
        else { throw fail("the manifest shown beside the JWS differs from the signed one") }
    }

    static func fail(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("INVALID: \(message)\n".utf8))
        return ExitCode(1)
    }

    static func compactJWS(in data: Data) throws -> String {
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.hasPrefix("{") {
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                let jws = object["jws"] as? String
            else { throw ValidationError("the JSON has no `jws` field") }
            return jws
        }
        return text
    }

    static func load(_ source: String) async throws -> Data {
        guard source.hasPrefix("http://") || source.hasPrefix("https://") else {
            return try Data(contentsOf: URL(fileURLWithPath: source))
        }
        var request = HTTPClientRequest(url: source)
        request.headers.add(name: "Accept", value: "application/json")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(15))
        guard response.status == .ok else { throw ValidationError("\(source) answered \(response.status.code)") }
        return Data(buffer: try await response.body.collect(upTo: 1 << 20))
    }
}
