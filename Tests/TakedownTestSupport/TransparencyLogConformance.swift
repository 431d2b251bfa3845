import Foundation
import TakedownModel
import TakedownSigning
import TakedownStore
import Testing

/// The tamper-evident log: entries written with their changes, sequenced into one tree whose stored nodes
/// are the RFC 9162 hashes of the entries, whoever sequences and however often.
public enum TransparencyLogConformance {
    public static let checks: [String: StoreConformance.Check] = [
        "each change logs its entries in its own transaction, and a failed one logs none": loggedWithChanges,
        "sequencing in any batches stores the nodes of one tree": oneTree,
        "sequencers racing cases make one tree without gaps": racingSequencers,
        "checkpoints are kept one per size, and the log's key and name are made once": checkpointsAndKey,
    ]

    static func everything(_ store: any GatewayStore) async throws -> [LoggedEntry] {
        try await store.logEntries(from: 0, to: Int64.max)
    }

    /// Every stored node against the tree rebuilt from the entries' bytes.
    static func expectTree(_ store: any GatewayStore, size: Int64) async throws {
        let entries = try await everything(store)
        #expect(entries.map(\.index) == Array(0..<size), "the tree has a gap or an extra leaf")
        let leaves = entries.map { MerkleTree.leafHash($0.body) }
        var wanted: Set<MerkleNode> = []
        for level in 0..<64 where size >> Int64(level) > 0 {
            for index in 0..<(size >> Int64(level)) { wanted.insert(MerkleNode(level: level, index: index)) }
        }
        let stored = try await store.logNodes(wanted)
        #expect(stored.count == wanted.count, "a complete node is missing")
        for node in wanted {
            #expect(stored[node] == MerkleTree.subtreeHash(level: node.level, index: node.index, leaves))
        }
        #expect(MerkleTree.rangeHash(0..<size, stored) == MerkleTree.rootHash(leaves))
        // No node of an incomplete subtree is stored.
        let beyond = try await store.logNodes([
            MerkleNode(level: 0, index: size), MerkleNode(level: 1, index: size / 2 + 1),
        ])
        #expect(beyond.isEmpty)
    }

    static func loggedWithChanges(_ store: any GatewayStore) async throws {
        let notice = try await ClockConformance.seeded(store)
        var found = try await store.logEntries(about: notice.id.rawValue)
        #expect(found.pending && found.entries.isEmpty)
        _ = try await store.updateNotices([notice.id]) { notice in
            notice.timeline.append(
                TimelineEvent(at: Synthetic.epoch.addingTimeInterval(60), event: "acknowledged", actor: "partner:x"))
            return true
        }
        // A change that fails logs nothing.
        await #expect(throws: AuditConformance.Refused.self) {
            _ = try await store.updateNotices([notice.id]) { notice in
                notice.timeline.append(TimelineEvent(at: Synthetic.epoch, event: "removed", actor: "partner:x"))
                throw AuditConformance.Refused()
            }
        }
        let audit = AuditConformance.entry(target: notice.partnerId.rawValue)
        try await AuditScope.$current.withValue(AuditScope(audit)) {
            try await store.insertToken(Synthetic.token(role: .analyst))
        }
        let list = HashListConformance.list()
        try await store.insertHashList(list)
        let added = try await store.editHashList(
            list.id, [.add(HashListConformance.draft(list: list))], at: Synthetic.epoch)
        let version = HashListVersion(
            listId: list.id, version: 1, seq: 1, entryCount: 1, createdAt: Synthetic.epoch,
            expiresAt: Synthetic.epoch.addingTimeInterval(86_400), manifest: Data("{}".utf8), jws: "m.a.n")
        #expect(try await store.insertHashListVersion(version))
        #expect(try await store.insertHashListVersion(version) == false)

        let size = try await store.sequenceLog(limit: 1_000)
        found = try await store.logEntries(about: notice.id.rawValue)
        #expect(!found.pending)
        let stored = try #require(try await store.notice(notice.id))
        #expect(
            found.entries.map(\.body)
                == [LogEntry.noticeIssued(stored).body]
                + stored.timeline.map { LogEntry.noticeEvent($0, of: notice.id).body })
        #expect(try await store.logEntries(about: "audit").entries.map(\.body) == [LogEntry.audit(audit).body])
        let changes = try await store.logEntries(about: list.id.rawValue).entries
        // The list took the seeded case's hashes when it was made, then the entry added.
        #expect(changes.count == 3)
        #expect(changes.last.map { String(decoding: $0.body, as: UTF8.self) }?.contains(added[0].id.rawValue) == true)
        let published = try await store.logEntries(about: LogEntry.versionSubject(list: list.id, version: 1))
        #expect(published.entries.map(\.body) == [LogEntry.hashListVersion(version).body])
        // Nothing else: the failed change and the repeated version left no entry.
        #expect(size == Int64(found.entries.count + 1 + changes.count + published.entries.count))
        try await expectTree(store, size: size)
    }

    static func oneTree(_ store: any GatewayStore) async throws {
        var size: Int64 = 0
        for round in 0..<6 {
            for _ in 0..<(round * 3 + 1) { _ = try await ClockConformance.seeded(store) }
            // Batches of odd sizes, so that appends start and end inside subtrees.
            while true {
                let grown = try await store.sequenceLog(limit: 3 + round)
                if grown == size { break }
                #expect(grown > size)
                size = grown
            }
            #expect(try await store.logSize() == size)
            try await expectTree(store, size: size)
        }
        #expect(size == 2 * (1 + 4 + 7 + 10 + 13 + 16))
    }

    static func racingSequencers(_ store: any GatewayStore) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<10 { _ = try await ClockConformance.seeded(store) }
                }
            }
            for _ in 0..<3 {
                group.addTask {
                    for _ in 0..<25 {
                        _ = try await store.sequenceLog(limit: 7)
                        try await Task.sleep(for: .milliseconds(2))
                    }
                }
            }
            try await group.waitForAll()
        }
        var size = try await store.logSize()
        while true {
            let grown = try await store.sequenceLog(limit: 100)
            if grown == size { break }
            size = grown
        }
        #expect(size == 80)
        try await expectTree(store, size: size)
    }

    static func checkpointsAndKey(_ store: any GatewayStore) async throws {
        #expect(try await store.latestCheckpoint() == nil)
        let first = StoredCheckpoint(
            size: 3, rootHash: Data(repeating: 1, count: 32), note: "first", signedAt: Synthetic.epoch)
        try await store.addCheckpoint(first)
        var second = first
        second.note = "second"
        try await store.addCheckpoint(second)
        #expect(try await store.checkpoint(size: 3) == first)
        let larger = StoredCheckpoint(
            size: 9, rootHash: Data(repeating: 2, count: 32), note: "larger", signedAt: Synthetic.epoch)
        try await store.addCheckpoint(larger)
        #expect(try await store.latestCheckpoint() == larger)
        #expect(try await store.checkpoint(size: 4) == nil)
        let made = try await store.logIdentity(proposing: "first-key", origin: "gateway.example/log")
        #expect(made.key == "first-key" && made.origin == "gateway.example/log")
        let kept = try await store.logIdentity(proposing: "another", origin: "127.0.0.1:9000/log")
        #expect(kept.key == "first-key" && kept.origin == "gateway.example/log")
    }
}
