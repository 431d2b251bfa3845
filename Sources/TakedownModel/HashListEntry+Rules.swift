import Foundation

/// How an entry moves on staff edits and on its notice's standing: the one rule every store's list log
/// applies. Each returns the entry as it becomes, or nil when nothing changes (no change is logged then).
extension HashListEntry {
    /// Staff give a live entry another category; a grade the list does not take sends it off the list, with
    /// the reason on the tombstone. Nil for an entry already off the list, or one already in that category.
    public func reclassified(to category: Category, in list: HashList, at now: Date) -> HashListEntry? {
        guard isLive, classification != category else { return nil }
        var moved = self
        moved.classification = category
        moved.updatedAt = now
        if !list.include.ukGrades.contains(category.ukGrade) {
            moved.deletedAt = now
            moved.deletionReason = .outOfScope
        }
        return moved
    }

    /// Staff take a live entry off the list for `reason`. Nil for an entry already off it.
    public func deleted(reason: DeletionReason, at now: Date) -> HashListEntry? {
        guard isLive else { return nil }
        var moved = self
        moved.deletedAt = now
        moved.deletionReason = reason
        moved.updatedAt = now
        return moved
    }

    /// A URL list's entry as its notice now stands: off the list with `reason` when live, or back on when it
    /// had left because its URL was found gone and is served again. Staff removals stay removed.
    public func standing(leaving reason: DeletionReason?, at now: Date) -> HashListEntry? {
        var moved = self
        if let reason {
            guard isLive else { return nil }
            moved.deletedAt = now
            moved.deletionReason = reason
        } else {
            guard !isLive, deletionReason == .gone else { return nil }
            moved.deletedAt = nil
            moved.deletionReason = nil
        }
        moved.updatedAt = now
        return moved
    }

    /// Whether a newly issued notice for this URL may put the entry back: not when staff took it off as a
    /// false positive or for legal reasons.
    public var returnsWithANewNotice: Bool { Self.returnsWithANewNotice(deletionReason) }

    /// Whether an entry that left for `reason` comes back with a new notice: unless staff took it off for
    /// good. An entry whose last change was compacted away has no reason left, and comes back.
    public static func returnsWithANewNotice(_ reason: DeletionReason?) -> Bool {
        !(reason.map(DeletionReason.staffFinal.contains) ?? false)
    }

    /// What a move from this state to `moved` does to the list's count of live entries.
    public func liveCountChange(to moved: HashListEntry) -> Int {
        (moved.isLive ? 1 : 0) - (isLive ? 1 : 0)
    }
}

extension HashEntryDraft {
    /// The entry this draft makes on list `list` as its `number`th; its sequence number comes when it is
    /// logged.
    public func newEntry(on list: HashListID, number: Int64, origin: EntryOrigin? = nil, at now: Date)
        -> HashListEntry
    {
        HashListEntry(
            id: .generate(), listId: list, number: number, mediaType: mediaType, hashes: hashes,
            classification: classification, caseId: caseId, createdAt: now, updatedAt: now, seq: 0, origin: origin,
            url: url)
    }

    /// The entry this draft brings back onto the list: a taken-off entry keeps its id, number, case and
    /// first appearance, and takes the draft's hashes and category.
    public func restoring(
        _ id: HashEntryID, on list: HashListID, number: Int64, caseId: CaseID?, createdAt: Date, seq: Int64,
        at now: Date
    ) -> HashListEntry {
        HashListEntry(
            id: id, listId: list, number: number, mediaType: mediaType, hashes: hashes,
            classification: classification, caseId: caseId, createdAt: createdAt, updatedAt: now, seq: seq, url: url)
    }
}
