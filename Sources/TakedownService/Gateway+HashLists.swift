import Foundation
import TakedownModel
import TakedownStore

extension HashListDesk {
    /// A new list, filled at once with what the stored cases contribute to it.
    public func createHashList(_ input: HashListInput) async throws -> HashList {
        let list = try gateway.validated { () throws(ValidationError) in try input.created(id: .generate(), at: clock())
        }
        try await checkGrants(list)
        do {
            try await store.insertHashList(list)
        } catch StoreError.conflict {
            throw GatewayError.invalid(ValidationError([FieldError(name: "name", reason: "is taken by another list")]))
        }
        return try await hashList(list.id)
    }

    /// Renames a list or changes who is granted it.
    public func updateHashList(_ id: HashListID, with input: HashListInput) async throws -> HashList {
        let current = try await hashList(id)
        let updated = try gateway.validated { () throws(ValidationError) in try input.applied(to: current, at: clock())
        }
        try await checkGrants(updated)
        do {
            try await store.updateHashList(updated)
        } catch StoreError.conflict {
            throw GatewayError.invalid(ValidationError([FieldError(name: "name", reason: "is taken by another list")]))
        }
        return try await hashList(id)
    }

    /// Lists the caller may see: staff all, a partner those granted to it.
    public func hashLists(for principal: Principal) async throws -> [HashList] {
        try await store.hashLists(grantedTo: principal.isStaff ? nil : principal.partnerID)
    }

    /// A list the caller may see; to a partner without a grant it does not exist.
    public func hashList(_ id: HashListID, for principal: Principal) async throws -> HashList {
        let list = try await hashList(id)
        if let partner = principal.partnerID, !list.partners.contains(partner) {
            throw GatewayError.notFound("hash list \(id)")
        }
        return list
    }

    func hashList(_ id: HashListID) async throws -> HashList {
        guard let list = try await store.hashList(id) else { throw GatewayError.notFound("hash list \(id)") }
        return list
    }

    /// A list of file hashes, for what only such a list has (sources, the NCMEC dialect): a URL list is 409.
    func fileHashList(_ id: HashListID, for principal: Principal? = nil) async throws -> HashList {
        let list: HashList
        if let principal { list = try await hashList(id, for: principal) } else { list = try await hashList(id) }
        guard list.kind == .hashes else {
            throw GatewayError.conflict("\(id) is a URL list; this is for lists of file hashes only")
        }
        return list
    }

    public func hashListEntry(_ list: HashListID, _ entry: HashEntryID) async throws -> HashListEntry {
        _ = try await hashList(list)
        guard let found = try await store.hashListEntry(list, entry) else {
            throw GatewayError.notFound("entry \(entry) of hash list \(list)")
        }
        return found
    }

    /// The entries of a list that carry a hash of this value (any type), live or deleted; at most 20.
    public func hashListEntries(_ list: HashListID, hash: String) async throws -> [HashListEntry] {
        _ = try await hashList(list)
        let value = hash.trimmingCharacters(in: .whitespaces).lowercased()
        guard (32...64).contains(value.count), value.allSatisfy(\.isHexDigit) else {
            throw GatewayError.badParameter(name: "hash", reason: "must be an MD5, SHA-1, SHA-256 or PDQ hash in hex")
        }
        var found: [HashListEntry] = []
        for id in try await store.hashListEntryIDs(list, hash: value, limit: 20) {
            if let entry = try await store.hashListEntry(list, id) { found.append(entry) }
        }
        return found
    }

    /// Files put on a list by hand (a deleted file comes back; a live one stays as it is).
    public func addHashListEntries(_ id: HashListID, _ inputs: [HashEntryInput]) async throws -> [HashListEntry] {
        let list = try await hashList(id)
        var v = Validator()
        if inputs.isEmpty || inputs.count > Self.maxEntriesPerRequest {
            v.fail("entries", "must hold 1 to \(Self.maxEntriesPerRequest) entries")
        }
        let drafts = inputs.enumerated().compactMap { index, input in
            input.draft(for: list, path: "entries[\(index)]", into: &v)
        }
        do { try v.check() } catch { throw GatewayError.invalid(error) }
        return try await edit(id, drafts.map { .add($0) })
    }

    /// A new grade for an entry; one the list does not take deletes it as `out_of_scope`.
    public func reclassifyHashListEntry(_ id: HashListID, _ entry: HashEntryID, _ input: CaseSubmission.CategoryInput?)
        async throws -> HashListEntry
    {
        var v = Validator()
        let category = CaseSubmission.CategoryInput.validated(input, path: "classification", into: &v)
        do { try v.check() } catch { throw GatewayError.invalid(error) }
        try await requireLive(id, entry)
        return try await edit(id, [.reclassify(entry, category!)])[0]
    }

    /// Takes an entry off a list, leaving a tombstone with the reason in the feed.
    public func deleteHashListEntry(_ id: HashListID, _ entry: HashEntryID, reason: String?) async throws
        -> HashListEntry
    {
        var v = Validator()
        let checked: DeletionReason? = v.choice(reason, "reason")
        do { try v.check() } catch { throw GatewayError.invalid(error) }
        try await requireLive(id, entry)
        return try await edit(id, [.delete(entry, checked!)])[0]
    }

    /// A deleted entry is settled: changing it again is a conflict, not a silent no-op.
    func requireLive(_ id: HashListID, _ entry: HashEntryID) async throws {
        let found = try await hashListEntry(id, entry)
        guard found.isLive else {
            throw GatewayError.conflict(
                "entry \(entry) was deleted (\(found.deletionReason?.rawValue ?? "deleted")); add it again to restore it"
            )
        }
    }

    func edit(_ id: HashListID, _ edits: [HashListEdit]) async throws -> [HashListEntry] {
        do {
            return try await store.editHashList(id, edits, at: clock())
        } catch StoreError.notFound {
            throw GatewayError.notFound("hash list \(id) or one of its entries")
        }
    }

    /// Every grantee exists and is of a kind the audience admits.
    func checkGrants(_ list: HashList) async throws {
        var v = Validator()
        for (index, id) in list.partners.enumerated() {
            guard let partner = try await store.partner(id) else {
                v.fail("partners[\(index)]", "no such partner")
                continue
            }
            if !list.admits(partner.kind) {
                v.fail(
                    "partners[\(index)]", "is a \(partner.kind.rawValue); this list is for \(list.audience.rawValue)")
            }
        }
        do { try v.check() } catch { throw GatewayError.invalid(error) }
    }

    public static let maxEntriesPerRequest = 1_000
}
