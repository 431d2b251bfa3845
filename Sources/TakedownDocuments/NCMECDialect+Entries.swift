import Foundation
import TakedownModel

extension NCMECDialect {
    /// One `<queryResult>` page of `GET /v2/entries`: the changes of a window, images then videos (each group
    /// with its count and newest timestamp), tombstones as `<deletedImage>`/`<deletedVideo>`, and the link to
    /// the next page. Written as it goes: every `batch` entries the bytes so far go to `emit`, so only the
    /// page's change records (at most the page size) are held, never a document tree.
    public struct EntriesPage: Sendable {
        public var changes: [HashListChange]
        /// Who contributed the entries (the gateway's own member, for its own lists).
        public var member: Member
        /// The next page's path relative to the list's base URL, or nil on the last page.
        public var next: String?

        public init(changes: [HashListChange], member: Member, next: String?) {
            self.changes = changes
            self.member = member
            self.next = next
        }

        public func write(batch: Int = 100, emit: ([UInt8]) async throws -> Void) async throws {
            let writer = try XMLStreamWriter()
            try writer.startDocument()
            try writer.start("queryResult", namespace: NCMECDialect.namespace)
            let memberID = String(member.id)
            for (media, group) in [("image", MediaType.image), ("video", .video)] {
                let changes = changes.filter { $0.mediaType == group }
                guard let newest = changes.map(\.updatedAt).max() else { continue }
                try writer.start(media + "s")
                try writer.attribute("count", String(changes.count))
                try writer.attribute("maxTimestamp", NCMECDialect.timestamp(newest))
                for (index, change) in changes.enumerated() {
                    try entry(change, media: media, memberID: memberID, writer)
                    if (index + 1) % batch == 0 { try await emit(try writer.take()) }
                }
                try writer.end()
            }
            if let next {
                try writer.start("paging")
                try writer.element("next", next)
                try writer.end()
            }
            try writer.endDocument()
            try await emit(try writer.take())
        }

        func entry(_ change: HashListChange, media: String, memberID: String, _ writer: XMLStreamWriter) throws {
            let deleted = change.op == .delete
            try writer.start(deleted ? (media == "image" ? "deletedImage" : "deletedVideo") : media)
            try writer.element("member", member.name, attributes: ["id": memberID])
            // To the millisecond (the client reads no entry's time; an importer orders changes by it, and two
            // changes of one entry within a second must not tie).
            try writer.element("timestamp", Timestamp.format(change.updatedAt))
            try writer.element("id", change.entryId.rawValue)
            if deleted, let reason = change.reason { try writer.element("reason", reason.rawValue) }
            if !deleted {
                if let classification = change.classification.classification {
                    try writer.element("classification", classification.rawValue)
                }
                try writer.start("fingerprints")
                for (name, value) in NCMECDialect.fingerprints(change.hashes) { try writer.element(name, value) }
                try writer.end()
            }
            try writer.end()
        }
    }
}
