import Foundation
import TakedownStore
import Testing

/// The signing keys every instance shares: one active key at most, rotation in one transaction.
public enum SigningKeyConformance {
    public static let checks: [String: StoreConformance.Check] = [
        "signing keys: one active at most, rotation retires it in the same transaction": rotation,
        "signing keys: keys added at once end with one active": concurrentFirstKeys,
    ]

    static func key(_ kid: String, at offset: TimeInterval, retired: Date? = nil) -> StoredSigningKey {
        StoredSigningKey(
            kid: kid, createdAt: Synthetic.epoch.addingTimeInterval(offset), retiredAt: retired,
            privateKey: Synthetic.hex(43))
    }

    static func rotation(_ store: any GatewayStore) async throws {
        #expect(try await store.signingKeys().isEmpty)
        let first = key("kid-1", at: 0)
        try await store.addSigningKey(first, retiringActiveAt: nil)
        #expect(try await store.signingKeys() == [first])

        // A second active key without retiring the first is refused, and changes nothing.
        await #expect(throws: StoreError.self) {
            try await store.addSigningKey(key("kid-2", at: 10), retiringActiveAt: nil)
        }
        #expect(try await store.signingKeys() == [first])

        let second = key("kid-2", at: 20)
        let retiredAt = Synthetic.epoch.addingTimeInterval(20)
        try await store.addSigningKey(second, retiringActiveAt: retiredAt)
        var expected = first
        expected.retiredAt = retiredAt
        #expect(try await store.signingKeys() == [expected, second])

        // A key id that exists is refused, and the rotation it came with is rolled back.
        await #expect(throws: StoreError.self) {
            try await store.addSigningKey(
                key("kid-1", at: 30), retiringActiveAt: Synthetic.epoch.addingTimeInterval(30))
        }
        #expect(try await store.signingKeys() == [expected, second])

        // A retired key (an import of an older one) may join beside the active one.
        let old = key("kid-0", at: -10, retired: Synthetic.epoch)
        try await store.addSigningKey(old, retiringActiveAt: nil)
        #expect(try await store.signingKeys().map(\.kid) == ["kid-0", "kid-1", "kid-2"])
    }

    static func concurrentFirstKeys(_ store: any GatewayStore) async throws {
        let added = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<8 {
                group.addTask {
                    do {
                        try await store.addSigningKey(key("first-\(index)", at: Double(index)), retiringActiveAt: nil)
                        return true
                    } catch {
                        return false
                    }
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(added == 1)
        let keys = try await store.signingKeys()
        #expect(keys.count == 1 && keys.allSatisfy { $0.retiredAt == nil })
    }
}
