import Foundation
import TakedownDocuments
import TakedownModel
import TakedownStore

/// One page of a list's changes in a time window, as NCMEC's `GET /v2/entries` pages it.
public struct NCMECEntriesWindow: Sendable {
    public var from: Date
    public var to: Date
    /// The first sequence number of the page (nil: the window's start).
    public var start: Int64?
    public var size: Int
    /// The window's last sequence number, fixed at its first page (nil: look it up).
    public var max: Int64?

    public init(from: Date, to: Date, start: Int64?, size: Int, max: Int64?) {
        self.from = from
        self.to = to
        self.start = start
        self.size = size
        self.max = max
    }
}

/// A page of the window and where the next one starts.
public struct NCMECEntries: Sendable {
    public var changes: [HashListChange]
    /// Who contributed the entries.
    public var member: NCMECDialect.Member
    /// `start`, `max` for the next page; nil on the last.
    public var next: (start: Int64, max: Int64)?
}

extension HashListDesk {
    /// The gateway's own member in the dialect: the contributor of its lists' entries.
    public var ncmecMember: NCMECDialect.Member {
        let name = configuration.issuer.organisation
        return NCMECDialect.Member(id: NCMECDialect.memberNumber(for: "issuer:" + name), name: name)
    }

    /// Who the caller is, as `GET /v2/status` says it: a partner by its id's member number and name, staff
    /// as the gateway itself. The list must be readable by the caller (else 404).
    public func ncmecStatus(of id: HashListID, for principal: Principal) async throws -> NCMECDialect.Member {
        _ = try await fileHashList(id, for: principal)
        guard let partnerID = principal.partnerID else { return ncmecMember }
        let partner = try await gateway.partnerDesk.partner(partnerID)
        return NCMECDialect.Member(id: NCMECDialect.memberNumber(for: partnerID.rawValue), name: partner.name)
    }

    /// The members whose entries the list holds: the gateway alone.
    public func ncmecMembers(of id: HashListID, for principal: Principal) async throws -> [NCMECDialect.Member] {
        _ = try await fileHashList(id, for: principal)
        return [ncmecMember]
    }

    /// A page of the list's changes made within the window, oldest first, and the next page's position.
    public func ncmecEntries(of id: HashListID, _ window: NCMECEntriesWindow, for principal: Principal)
        async throws -> NCMECEntries
    {
        _ = try await fileHashList(id, for: principal)
        guard window.from <= window.to else { throw GatewayError.badParameter(name: "from", reason: "is after to") }
        let range = window.from...window.to
        let last: Int64
        if let max = window.max { last = max } else { last = try await store.hashListLastChange(id, changedIn: range) }
        let after = Swift.max((window.start ?? 1) - 1, 0)
        let records = try await store.hashListRecords(
            id, changedIn: range, after: after, through: last, limit: window.size)
        let end = records.last?.change.seq ?? last
        let more = records.count == window.size && end < last
        return NCMECEntries(changes: records.map(\.change), member: ncmecMember, next: more ? (end + 1, last) : nil)
    }

    /// `recordNCMECDownload`, logging a failure instead of throwing it (the page was already sent).
    public func noteNCMECDownload(of id: HashListID, bytes: Int64, by principal: Principal) async {
        do {
            try await recordNCMECDownload(of: id, bytes: bytes, by: principal)
        } catch {
            logger.warning("a page read through the NCMEC dialect was not logged", metadata: ["error": "\(error)"])
        }
    }

    /// Notes a page read through the NCMEC dialect in the list's download log, against its newest version.
    public func recordNCMECDownload(of id: HashListID, bytes: Int64, by principal: Principal) async throws {
        let version = try await store.hashListVersion(id, number: nil)?.version ?? 0
        try await store.recordHashListDownload(
            HashListDownload(
                listId: id, version: version, format: "ncmec", hash: nil, partnerId: principal.partnerID,
                tokenId: principal.tokenID, actor: principal.actor, bytes: bytes, gzip: false, at: clock()))
    }
}
