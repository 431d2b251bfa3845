import Crypto
import Foundation
import TakedownModel
import TakedownSigning
import TakedownStore

/// Checks a record against the log with the log's public key alone: the checkpoint's signature, each
/// entry's inclusion in it, that the entries are the record's own (rebuilt from the record as served), and
/// that a checkpoint kept earlier is a prefix of it. What `takedown verify --log` runs.
public struct LogVerifier: Sendable {
    public let origin: String
    public let key: Curve25519.Signing.PublicKey

    /// Why a check failed.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// From the verifier key the gateway publishes (`/.well-known/takedown-log-key`).
    public init(verifierKey: String) throws {
        guard
            let (name, key) = SignedNote.publicKey(
                fromVerifierKey: verifierKey.trimmingCharacters(in: .whitespacesAndNewlines))
        else { throw Failure("the log key is not a C2SP Ed25519 verifier key") }
        origin = name
        self.key = key
    }

    /// A proofs document as the gateway serves it (`/v1/notices/{id}/proof` and the like).
    public struct Proofs: Decodable, Sendable {
        public struct Proven: Decodable, Sendable {
            public var index: Int64
            public var body: String
            public var proof: [String]
        }

        public var checkpoint: String
        public var entries: [Proven]
    }

    /// An entry whose inclusion was shown, with its fields.
    public struct Included: Sendable {
        public var index: Int64
        public var body: Data
        public var fields: [String: String]
    }

    /// The checkpoint of a signed note, when the log's key signed it for this log.
    public func checkpoint(_ note: String) throws -> Checkpoint {
        let text: String
        do {
            text = try SignedNote.open(note, name: origin, key: key)
        } catch {
            throw Failure("the checkpoint is not signed by the log's key (\(error))")
        }
        guard let checkpoint = Checkpoint(text: text) else { throw Failure("the signed note is not a checkpoint") }
        guard checkpoint.origin == origin else {
            throw Failure("the checkpoint is of log \(checkpoint.origin), not \(origin)")
        }
        return checkpoint
    }

    /// Every entry's inclusion in the document's signed checkpoint.
    public func included(_ proofs: Proofs) throws -> (Checkpoint, [Included]) {
        let checkpoint = try checkpoint(proofs.checkpoint)
        let entries = try proofs.entries.map { proven in
            guard let body = Data(base64Encoded: proven.body) else {
                throw Failure("entry \(proven.index) is not base64")
            }
            let proof = try proven.proof.map { hash in
                guard let data = Data(base64Encoded: hash), data.count == 32 else {
                    throw Failure("a proof hash of entry \(proven.index) is not 32 bytes of base64")
                }
                return data
            }
            guard
                MerkleTree.verifyInclusion(
                    leaf: MerkleTree.leafHash(body), index: Int(proven.index), treeSize: checkpoint.size, proof: proof,
                    root: checkpoint.rootHash)
            else { throw Failure("entry \(proven.index) is not in the tree of checkpoint \(checkpoint.size)") }
            guard let fields = try? JSONDecoder().decode([String: String].self, from: body) else {
                throw Failure("entry \(proven.index) is not a log entry")
            }
            return Included(index: proven.index, body: body, fields: fields)
        }
        return (checkpoint, entries)
    }

    /// That the tree of `new` extends the tree of the earlier checkpoint `old` (both signed by the log).
    public func consistent(old note: String, new: Checkpoint, proof: [Data]) throws -> Checkpoint {
        let old = try checkpoint(note)
        guard
            MerkleTree.verifyConsistency(
                oldSize: old.size, newSize: new.size, oldRoot: old.rootHash, newRoot: new.rootHash, proof: proof)
        else { throw Failure("the tree of \(new.size) entries does not extend the checkpoint of \(old.size)") }
        return old
    }

    /// A step of a notice's timeline as the API shows it.
    public struct TimelineStep: Decodable, Sendable {
        public var at: String
        public var event: String
        public var actor: String
        public var detail: String?
    }

    /// That a notice's signed document and every step of its timeline are logged, and that the log holds no
    /// step the timeline lacks. A partner's view names other actors `hotline`: such a step matches its entry by
    /// time and event only. Returns a line per match.
    public static func matchNotice(jws: String, id: String, timeline: [TimelineStep]?, _ entries: [Included]) throws
        -> [String]
    {
        let issued = entries.filter { $0.fields["kind"] == "notice.issued" && $0.fields["notice"] == id }
        guard let entry = issued.first(where: { $0.fields["jws_sha256"] == LogEntry.sha256(jws) }) else {
            throw Failure("no logged issue of notice \(id) has this document's SHA-256")
        }
        var lines = ["notice \(id): issued, logged at index \(entry.index)"]
        guard let timeline else { return lines }
        var steps = entries.filter { $0.fields["kind"] == "notice.event" && $0.fields["notice"] == id }
        for step in timeline {
            var fields = ["kind": "notice.event", "notice": id, "event": step.event, "at": step.at]
            fields["actor_sha256"] = LogEntry.sha256(step.actor)
            if let detail = step.detail { fields["detail_sha256"] = LogEntry.sha256(detail) }
            let exact = LogEntry.canonical(fields)
            let found =
                steps.firstIndex { $0.body == exact }
                ?? (step.actor == "hotline"
                    ? steps.firstIndex { $0.fields["event"] == step.event && $0.fields["at"] == step.at } : nil)
            guard let found else {
                throw Failure("timeline step \(step.event) at \(step.at) is not what the log holds")
            }
            lines.append("notice \(id): \(step.event) at \(step.at), logged at index \(steps[found].index)")
            steps.remove(at: found)
        }
        if let extra = steps.first {
            throw Failure(
                "the log holds a step the timeline lacks: \(extra.fields["event"] ?? "?") at \(extra.fields["at"] ?? "?")"
            )
        }
        return lines
    }

    /// That a hash list's signed manifest is the logged one of its version.
    public static func matchManifest(jws: String, _ entries: [Included]) throws -> [String] {
        guard
            let entry = entries.first(where: {
                $0.fields["kind"] == "hash_list.version" && $0.fields["jws_sha256"] == LogEntry.sha256(jws)
            })
        else { throw Failure("no logged list version has this manifest's SHA-256") }
        return [
            "hash list \(entry.fields["list"] ?? "?") version \(entry.fields["version"] ?? "?"): logged at index \(entry.index)"
        ]
    }
}
