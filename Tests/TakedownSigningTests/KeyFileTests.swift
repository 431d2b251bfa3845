import Crypto
import Foundation
import TakedownSigning
import TakedownTestSupport
import Testing

@Suite("Key files at rest")
struct KeyFileTests {
    @Test("webhook secrets seal and open again; each seal differs, and the clear text is nowhere in it")
    func sealAndOpen() throws {
        let box = SecretBox(key: SymmetricKey(size: .bits256))
        let secret = "whsec_" + Synthetic.hex(48)
        let sealed = try box.seal(secret)
        #expect(sealed.hasPrefix("aesgcm1:") && !sealed.contains(secret) && !box.needsSealing(sealed))
        #expect(try box.seal(secret) != sealed)
        #expect(try box.open(sealed) == secret)
        // Rows stored before sealing existed read as they are, and are due for sealing.
        #expect(try box.open(secret) == secret && box.needsSealing(secret))
    }

    @Test("another key, or a tampered value, does not open")
    func wrongKey() throws {
        let sealed = try SecretBox(key: SymmetricKey(size: .bits256)).seal("whsec_abc")
        #expect(throws: SecretBoxError.cannotOpen) { try SecretBox(key: SymmetricKey(size: .bits256)).open(sealed) }
        let box = SecretBox(key: SymmetricKey(size: .bits256))
        var tampered = Array(try box.seal("whsec_abc"))
        tampered[tampered.count - 3] = tampered[tampered.count - 3] == "A" ? "B" : "A"
        #expect(throws: SecretBoxError.cannotOpen) { try box.open(String(tampered)) }
        #expect(throws: SecretBoxError.cannotOpen) { try box.open("aesgcm1:not*base64") }
    }

    @Test("the key is created once, owner-only, and read back the same")
    func keyFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keys = directory.appendingPathComponent("keys")
        let first = try SecretBox.load(directory: keys)
        let path = keys.appendingPathComponent(SecretBox.fileName).path
        #expect(try mode(path) == 0o600)
        let stored = try String(contentsOfFile: path, encoding: .utf8)
        #expect(first.path == path)
        #expect(!first.description.contains(stored.trimmingCharacters(in: .whitespacesAndNewlines)))
        let sealed = try first.seal("whsec_kept")
        #expect(try SecretBox.load(directory: keys).open(sealed) == "whsec_kept")
    }

    @Test(
        "a key file group or others can read is refused, naming the file and the fix",
        arguments: [0o644, 0o640, 0o604, 0o660])
    func exposedKeys(permissions: Int) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keys = directory.appendingPathComponent("keys")
        var ring = try KeyFolder(directory: keys)
        let kid = try ring.ensureKey(at: Date()).kid
        _ = try SecretBox.load(directory: keys)

        let signing = keys.appendingPathComponent("\(kid).key.json").path
        try FileManager.default.setAttributes([.posixPermissions: permissions], ofItemAtPath: signing)
        let refused = #expect(throws: KeyFileError.self) { try KeyFolder(directory: keys) }
        #expect(refused?.description.contains(signing) == true)
        #expect(refused?.description.contains("chmod 600 \(signing)") == true)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: signing)
        #expect(try KeyFolder(directory: keys).keys.count == 1)

        let secrets = keys.appendingPathComponent(SecretBox.fileName).path
        try FileManager.default.setAttributes([.posixPermissions: permissions], ofItemAtPath: secrets)
        let box = #expect(throws: KeyFileError.self) { try SecretBox.load(directory: keys) }
        #expect(box?.description.contains("chmod 600 \(secrets)") == true)
    }

    @Test("two processes creating the key at once end with one key")
    func exclusiveCreation() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("k")
        #expect(try KeyFile.createExclusively(Data("one".utf8), at: url))
        #expect(try KeyFile.createExclusively(Data("two".utf8), at: url) == false)
        #expect(try String(contentsOf: url, encoding: .utf8) == "one")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["k"])
    }

    @Test("rings opened together on one folder make one first key")
    func oneFirstKey() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keys = directory.appendingPathComponent("keys")
        let kids = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var ring = try KeyFolder(directory: keys)
                    return try ring.ensureKey(at: Date()).kid
                }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(kids.count == 1)
        #expect(try KeyFolder(directory: keys).keys.count == 1)
    }

    func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }
}
