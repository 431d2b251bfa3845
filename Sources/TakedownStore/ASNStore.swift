import TakedownModel

/// The operator's IP-to-ASN table (`takedown asn import`), read at intake to trace where an item is hosted.
public protocol ASNStore: Sendable {
    /// Replaces the whole table with `ranges` (sorted, not overlapping) in one transaction: readers see the
    /// old table or the new one, never a mix.
    func replaceASNTable(_ ranges: [ASNRange]) async throws
    /// For each address, the range that holds it; addresses outside every range are absent.
    func asnRanges(containing addresses: [IPAddress]) async throws -> [IPAddress: ASNRange]
    func asnRangeCount() async throws -> Int
}
