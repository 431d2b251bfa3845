import Foundation

/// What one check of an item's URL found.
public enum VerificationOutcome: String, Codable, Sendable, CaseIterable {
    /// 404, 410 or 451, or the host name does not exist.
    case gone
    /// The URL answers 2xx with bytes whose hashes differ from the case's: the item is removed.
    case contentChanged = "content_changed"
    /// The URL answers 2xx with the same bytes (or, for an item without md5/sha1/sha256, with anything).
    case stillServed = "still_served"
    /// Nothing can be concluded: a timeout, a body over the cap, a refused target, another status.
    case inconclusive

    /// Whether the outcome counts as the item verified removed.
    public var isRemoved: Bool { self == .gone || self == .contentChanged }
}

/// One recorded check: when, which URL, the HTTP status and what it meant. Never the content.
public struct VerificationCheck: Codable, Sendable, Equatable {
    public var noticeId: NoticeID
    public var url: String
    public var checkedAt: Date
    /// The status of the last answer, when there was one.
    public var httpStatus: Int?
    public var outcome: VerificationOutcome
    /// Why the check failed or was inconclusive.
    public var error: String?
    /// How many redirects were followed.
    public var redirects: Int
    /// The URL the last request went to (the item's URL when no redirect was followed).
    public var finalUrl: String

    public init(
        noticeId: NoticeID, url: String, checkedAt: Date, httpStatus: Int?, outcome: VerificationOutcome,
        error: String?, redirects: Int = 0, finalUrl: String? = nil
    ) {
        self.noticeId = noticeId
        self.url = url
        self.checkedAt = checkedAt
        self.httpStatus = httpStatus
        self.outcome = outcome
        self.error = error
        self.redirects = redirects
        self.finalUrl = finalUrl ?? url
    }
}

/// What a bounded GET of a URL produced: the last status and the digests of the body, or why it failed.
public struct URLFetch: Sendable, Equatable {
    public enum Failure: Sendable, Equatable {
        /// DNS says the host name does not exist.
        case nameNotFound
        /// The target guard refused an address (the item's or a redirect's).
        case refused(String)
        case timedOut
        case tooLarge(limit: Int)
        case tooManyRedirects(limit: Int)
        /// Any other failure: connection refused, TLS, a temporary DNS failure, a bad Location.
        case other(String)
    }

    public var status: Int?
    /// md5, sha1 and sha256 of the whole body, lower-case hex; nil unless it was read to the end.
    public var digests: Hashes?
    public var failure: Failure?
    public var redirects: Int
    public var finalURL: String

    public init(status: Int?, digests: Hashes?, failure: Failure?, redirects: Int, finalURL: String) {
        self.status = status
        self.digests = digests
        self.failure = failure
        self.redirects = redirects
        self.finalURL = finalURL
    }

    /// The outcome against the item's hashes, and the error worth recording.
    public func judged(against expected: Hashes) -> (outcome: VerificationOutcome, error: String?) {
        if let failure {
            switch failure {
            case .nameNotFound: return (.gone, "the host name does not exist")
            case .refused(let reason): return (.inconclusive, "target refused: \(reason)")
            case .timedOut: return (.inconclusive, "timed out")
            case .tooLarge(let limit): return (.inconclusive, "the body is larger than \(limit) bytes")
            case .tooManyRedirects(let limit): return (.inconclusive, "more than \(limit) redirects")
            case .other(let reason): return (.inconclusive, reason)
            }
        }
        guard let status else { return (.inconclusive, "no answer") }
        if [404, 410, 451].contains(status) { return (.gone, nil) }
        guard (200...299).contains(status), let digests else { return (.inconclusive, "HTTP \(status)") }
        let pairs = [(expected.md5, digests.md5), (expected.sha1, digests.sha1), (expected.sha256, digests.sha256)]
        let comparable = pairs.filter { $0.0 != nil }
        // Without a cryptographic hash nothing shows the bytes differ: a 2xx answer counts as still served.
        guard !comparable.isEmpty else {
            return (.stillServed, "no md5, sha1 or sha256 to compare; 2xx counts as served")
        }
        let same = comparable.contains { $0.0?.lowercased() == $0.1?.lowercased() }
        return same ? (.stillServed, nil) : (.contentChanged, nil)
    }
}
