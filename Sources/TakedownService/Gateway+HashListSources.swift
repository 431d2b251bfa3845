import Foundation
import TakedownModel
import TakedownStore

extension HashListDesk {
    /// Adds a source to a list; its first pull is due at once.
    public func createHashListSource(_ id: HashListID, _ input: HashListSourceInput) async throws -> HashListSource {
        let list = try await fileHashList(id)
        let source = try gateway.validated { () throws(ValidationError) in
            try input.created(id: .generate(), for: list, at: clock())
        }
        try await store.insertHashListSource(source)
        return source
    }

    /// A list's sources, oldest first.
    public func hashListSources(_ id: HashListID) async throws -> [HashListSource] {
        _ = try await hashList(id)
        return try await store.hashListSources(id)
    }

    public func hashListSource(_ id: HashListID, _ source: SourceID) async throws -> HashListSource {
        guard let found = try await store.hashListSource(source), found.listId == id else {
            throw GatewayError.notFound("source \(source) of hash list \(id)")
        }
        return found
    }

    /// Makes a source due now: the import worker pulls it within its poll interval (a pull under way
    /// finishes first).
    public func requestHashListSourcePull(_ id: HashListID, _ source: SourceID) async throws -> HashListSource {
        _ = try await hashListSource(id, source)
        try await store.scheduleHashListSourcePull(source, at: clock())
        return try await hashListSource(id, source)
    }
}
