import ArgumentParser
import Foundation
import TakedownModel
import TakedownService
import TakedownSigning

/// `takedown verify --log`: a record's place in the tamper-evident log, checked with the log's key alone.
extension Verify {
    func checkLog(record: (input: Data, compact: String)?) async throws {
        guard let logKey else { throw ValidationError("--log and --checkpoint need --log-key") }
        let verifier = try LogVerifier(verifierKey: try await Self.text(logKey, literalIf: { $0.contains("+") }))
        let current: Checkpoint
        if let log {
            let proofs: LogVerifier.Proofs
            do {
                proofs = try JSONDecoder().decode(LogVerifier.Proofs.self, from: try await Self.load(log))
            } catch is DecodingError {
                throw LogVerifier.Failure("\(log) is not a log proofs document")
            }
            let (checkpoint, entries) = try verifier.included(proofs)
            current = checkpoint
            print("checkpoint of \(checkpoint.origin): \(checkpoint.size) entries, signed by the log's key")
            print("\(entries.count) entries included in it")
            if let record {
                for line in try Self.match(record, entries) { print(line) }
            }
        } else if let checkpoint {
            current = try verifier.checkpoint(try await Self.text(checkpoint, literalIf: { _ in false }))
            print("checkpoint of \(current.origin): \(current.size) entries, signed by the log's key")
        } else {
            return
        }
        if let since {
            guard let consistency else { throw ValidationError("--since needs --consistency") }
            let proof = try Self.consistencyProof(try await Self.load(consistency), to: Int64(current.size))
            let old = try verifier.consistent(
                old: try await Self.text(since, literalIf: { _ in false }), new: current, proof: proof)
            print("the tree of \(current.size) entries extends the checkpoint of \(old.size) kept earlier")
        }
    }

    /// The record's own entries: a notice (its document, and its timeline when the JSON has one) or a manifest.
    static func match(_ record: (input: Data, compact: String), _ entries: [LogVerifier.Included]) throws -> [String] {
        struct Shown: Decodable {
            var id: String?
            var timeline: [LogVerifier.TimelineStep]?
        }
        let shown = try? JSONDecoder().decode(Shown.self, from: record.input)
        if entries.contains(where: { $0.fields["kind"] == "hash_list.version" }) {
            return try LogVerifier.matchManifest(jws: record.compact, entries)
        }
        let parts = record.compact.split(separator: ".", omittingEmptySubsequences: false)
        let payload = parts.count == 3 ? Base64URL.decode(String(parts[1])) : nil
        let signed = payload.flatMap { try? JSONDecoder().decode(Shown.self, from: $0) }
        guard let id = shown?.id ?? signed?.id else { throw LogVerifier.Failure("the record names no notice id") }
        return try LogVerifier.matchNotice(jws: record.compact, id: id, timeline: shown?.timeline, entries)
    }

    /// `{"first":…,"second":…,"proof":[base64…]}`, for the sizes asked.
    static func consistencyProof(_ data: Data, to size: Int64) throws -> [Data] {
        struct Document: Decodable {
            var first: Int64
            var second: Int64
            var proof: [String]
        }
        guard let document = try? JSONDecoder().decode(Document.self, from: data) else {
            throw LogVerifier.Failure("the consistency proof is not a consistency proof document")
        }
        guard document.second == size else {
            throw LogVerifier.Failure("the consistency proof leads to \(document.second) entries, not \(size)")
        }
        return try document.proof.map { hash in
            guard let data = Data(base64Encoded: hash), data.count == 32 else {
                throw LogVerifier.Failure("a consistency proof hash is not 32 bytes of base64")
            }
            return data
        }
    }

    /// A file's or URL's text, or `value` itself when `literalIf` says it is the text.
    static func text(_ value: String, literalIf literal: (String) -> Bool) async throws -> String {
        if literal(value), !FileManager.default.fileExists(atPath: value) { return value }
        return String(decoding: try await load(value), as: UTF8.self)
    }
}
