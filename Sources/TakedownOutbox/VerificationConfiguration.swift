import Foundation
import TakedownModel

/// How URL verification behaves; the command line fills it from settings.
public struct VerificationConfiguration: Sendable {
    /// How often an open (or not yet verified) notice's URLs are checked again.
    public var interval: TimeInterval = 6 * 3600
    /// Time allowed for one URL, redirects and body included.
    public var timeout: TimeInterval = 10
    /// Bodies larger than this are not read to the end; the check is inconclusive.
    public var maxBytes = 32 * 1024 * 1024
    /// Redirects followed (each target checked by the guard again) before giving up.
    public var maxRedirects = 3
    /// Idle wait between rounds when nothing was due.
    public var pollInterval: TimeInterval = 30
    /// Notices checked per round, claimed one at a time so each claim's lease starts with its checks.
    public var batchSize = 16
    /// A notice's items checked at once, so one host that stalls holds only this many of its checks.
    public var concurrency = 4
    public var allowPrivateTargets = false
    /// Private ranges reachable even without `allowPrivateTargets` (tests allow one loopback address).
    public var allowedTargets: [IPRange] = []

    public init() {}

    /// How long a claim holds before it must be extended: a few checks that all time out, and a margin.
    public var lease: TimeInterval { timeout * 3 + 60 }
}
