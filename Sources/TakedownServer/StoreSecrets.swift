import TakedownSigning
import TakedownStore

/// The key folder's `SecretBox` as the stores' sealing of webhook secrets.
struct StoreSecrets: SecretSealing, CustomStringConvertible {
    let box: SecretBox

    func seal(_ secret: String) throws -> String { try box.seal(secret) }
    func open(_ stored: String) throws -> String { try box.open(stored) }
    func needsSealing(_ stored: String) -> Bool { box.needsSealing(stored) }
    var description: String { box.description }
}
