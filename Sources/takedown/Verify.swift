import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import TakedownSigning

/// Checks a notice's signature offline (against a JWKS file) or against a JWKS URL.
struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify a notice's compact JWS against a JWKS file or URL.",
        discussion:
            "The notice file holds the compact JWS, or the notice JSON with its `jws` field. Exit status 0 means valid."
    )

    @Argument(help: "Notice file (compact JWS or notice JSON); - reads standard input.") var notice: String
    @Option(help: "JWKS file path or http(s) URL.") var jwks: String

    func run() async throws {
        let input =
            notice == "-"
            ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: notice))
        let compact = try Self.compactJWS(in: input)
        let keys = try JSONDecoder().decode(JWKSet.self, from: try await Self.load(jwks))
        do {
            let (header, payload) = try JWS.verify(compact, keys: keys)
            print("valid signature, key \(header.kid), alg \(header.alg)")
            print(String(decoding: payload, as: UTF8.self))
        } catch {
            FileHandle.standardError.write(Data("INVALID: \(error)\n".utf8))
            throw ExitCode(1)
        }
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
