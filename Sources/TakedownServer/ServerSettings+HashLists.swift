import Foundation
import TakedownService

extension ServerSettings {
    /// `TAKEDOWN_HASH_*`: tombstone retention, polling interval, manifest lifetime, publishing schedule.
    mutating func readHashListSettings(_ env: (String) -> String?) throws {
        func number(_ name: String, minimum: Double) throws -> Double? {
            guard let value = env(name) else { return nil }
            guard let number = Self.finite(value), number >= minimum else {
                throw SettingsError("TAKEDOWN_\(name)", value)
            }
            return number
        }
        if let days = try number("HASH_TOMBSTONE_RETENTION_DAYS", minimum: 1) {
            hashLists.tombstoneRetentionDays = Int(days)
        }
        if let seconds = try number("HASH_MIN_POLL_SECONDS", minimum: 0) { hashLists.minPollSeconds = Int(seconds) }
        if let hours = try number("HASH_MANIFEST_LIFETIME_HOURS", minimum: 1) {
            hashLists.manifestLifetime = hours * 3600
        }
        if let seconds = try number("HASH_PUBLISH_INTERVAL_SECONDS", minimum: 0) {
            hashLists.publishInterval = seconds
        }
        if let seconds = try number("URL_LIST_PUBLISH_INTERVAL_SECONDS", minimum: 0) {
            hashLists.urlPublishInterval = seconds
        }
        if let seconds = try number("HASH_MAINTENANCE_INTERVAL_SECONDS", minimum: 1) { hashListInterval = seconds }
    }
}
