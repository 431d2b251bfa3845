import Foundation
import Testing

@testable import TakedownModel

@Suite("The canonical feed line")
struct HashListLineTests {
    static func hex(_ count: Int) -> String {
        String((0..<count).map { _ in "0123456789abcdef".randomElement()! })
    }

    static func change(_ seed: Int) -> HashListChange {
        let pick = { (n: Int) in (seed / n) % 2 == 0 }
        let hashes = Hashes(
            md5: pick(1) ? hex(32) : nil, sha1: pick(2) ? hex(40) : nil, sha256: pick(4) ? hex(64) : nil,
            pdq: pick(8) ? hex(64) : nil, pdqQuality: pick(16) ? Int.random(in: 0...100) : nil,
            photodna: pick(32) ? "AAEC/+0z==" : nil)
        let strange = ["A-1/b", "späti 🙂", "tab\there", "quote\"d", "back\\slash", "nul\u{0}", "\u{2028}", "</x>"]
        return HashListChange(
            seq: Int64.random(in: 1...Int64.max), op: pick(64) ? .upsert : .delete, entryId: .generate(),
            mediaType: pick(128) ? .image : .video, hashes: hashes,
            classification: Category(
                ukGrade: UKGrade.allCases.randomElement()!, classification: pick(256) ? .a1 : nil),
            updatedAt: Date(timeIntervalSince1970: Double(Int.random(in: 0...4_102_444_800_000)) / 1000),
            reason: pick(512) ? DeletionReason.allCases.randomElement() : nil,
            origin: pick(1024)
                ? EntryOrigin(
                    source: .generate(), member: Int64.random(in: 0...Int64.max), id: strange.randomElement()!)
                : nil,
            url: pick(2048)
                ? (pick(4096)
                    ? "https://files.example.com/a/b?c=d&e=%20f" : "https://x.test/" + strange.randomElement()!)
                : nil)
    }

    @Test("written by hand it is byte for byte what JSONEncoder writes, and falls back to it for any other text")
    func sameBytes() throws {
        let encoder = WireFormat.encoder()
        var handWritten = 0
        for seed in 0..<8_192 {
            let change = Self.change(seed)
            let expected = try encoder.encode(change)
            #expect(try change.line(using: encoder) == expected, "\(String(decoding: expected, as: UTF8.self))")
            if let plain = change.plainLine() {
                handWritten += 1
                #expect(Data(plain) == expected)
            }
        }
        #expect(handWritten > 4_000)
    }
}
