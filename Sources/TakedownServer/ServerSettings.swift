import Foundation
import Logging
import TakedownAPI
import TakedownDocuments
import TakedownModel
import TakedownOutbox
import TakedownResources
import TakedownService

/// Every setting of a gateway process, resolved as flag over `TAKEDOWN_*` environment over default.
public struct ServerSettings: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var dataDirectory = "./data"
    public var databaseURL: String?
    /// Connections in the PostgreSQL pool (`TAKEDOWN_DATABASE_POOL_SIZE`); nil: the URL's `pool_size`, or 10.
    public var databasePoolSize: Int?
    public var publicURL: String?
    public var bootstrapAdminToken: String?
    /// A folder of notice templates and legal bases overriding the set built into the binary
    /// (`TAKEDOWN_TEMPLATES_DIR`); nil: the built-in set.
    public var templatesDirectory: String?
    public var logLevel = Logger.Level.info
    public var maxBodyBytes = 5 * 1024 * 1024
    public var defaultDeadlineHours = 24.0
    public var issuer = IssuerProfile()
    /// Lets webhooks and SMTP reach loopback and private addresses (tests set it).
    public var allowPrivateTargets = false
    public var outbox = OutboxConfiguration()
    /// Whether `serve` runs the outbox worker (and the escalation ladder) beside the API.
    public var runsOutbox = true
    public var ladder = EscalationLadder.standard
    /// How often the escalation ladder is checked.
    public var ladderInterval: TimeInterval = 30
    /// URL verification after removal reports and on a schedule.
    public var verification = VerificationConfiguration()
    /// Whether `serve` and `worker` run URL verification (`TAKEDOWN_VERIFY_WORKER=0` turns it off).
    public var runsVerification = true
    /// How hash-list sources are pulled (`TAKEDOWN_IMPORT_*`).
    public var imports = ImportConfiguration()
    /// The mail relay (`smtp://` or `smtps://`); unset turns the email channel off.
    public var smtp: SMTPTransport.Relay?
    public var hashLists = HashListSettings()
    /// How often hash lists are checked for scheduled publishing and tombstone compaction.
    public var hashListInterval: TimeInterval = 60
    /// Requests per second per caller, by role (`TAKEDOWN_RATE_LIMITS`).
    public var rateLimits = RateLimits()
    /// A connection with no request under way is closed after this long; so is one that sends a request
    /// head too slowly (`TAKEDOWN_IDLE_TIMEOUT`, seconds).
    public var idleTimeout: TimeInterval = 60
    /// A request body must arrive within this long in all, however steadily it drips
    /// (`TAKEDOWN_READ_TIMEOUT`, seconds).
    public var readTimeout: TimeInterval = 30
    /// Connections served at once; more wait in the listen queue (`TAKEDOWN_MAX_CONNECTIONS`).
    public var maxConnections = 4_096
    /// Bearer token that `/metrics` on the API port asks for (`TAKEDOWN_METRICS_TOKEN`).
    public var metricsToken: String?
    /// A separate `host:port` serving `/metrics` without a token, for a scraper on a private network
    /// (`TAKEDOWN_METRICS_ADDR`).
    public var metricsAddress: (host: String, port: Int)?
    /// Exports and other costly responses one caller may run at once (`TAKEDOWN_MAX_HEAVY_PER_PARTNER`).
    public var maxHeavyPerCaller = 2
    /// The DNS server intake asks where item hosts resolve (`TAKEDOWN_DNS_SERVER`, an address and port);
    /// nil: no lookups.
    public var dnsServer: (address: IPAddress, port: Int)?
    /// A DNS lookup's time limit (`TAKEDOWN_DNS_TIMEOUT_SECONDS`).
    public var dnsTimeout: TimeInterval = 2
    /// How often referrals' status updates to their senders are looked for
    /// (`TAKEDOWN_REFERRAL_REPORT_SECONDS`).
    public var referralReportInterval: TimeInterval = 30
    /// How often the signing keys are read again from the store (`TAKEDOWN_KEY_REFRESH_SECONDS`): a key
    /// rotated on one instance signs on all within this.
    public var keyRefreshInterval: TimeInterval = 10
    /// How often the log's pending entries are sequenced and a checkpoint signed when the tree grew
    /// (`TAKEDOWN_LOG_CHECKPOINT_SECONDS`).
    public var logCheckpointInterval: TimeInterval = 10
    /// The log's name (`TAKEDOWN_LOG_ORIGIN`); nil: the public URL without its scheme, then `/log`.
    public var logOrigin: String?
    /// How long a retired signing key stays published (`TAKEDOWN_RETIRED_KEY_PUBLISH_DAYS`).
    public var retiredKeyPublication: TimeInterval = 3650 * 86_400
    /// The key that seals signing keys, webhook secrets and source credentials in the store: base64 of 32
    /// bytes, from `TAKEDOWN_SECRETS_KEY`, or the file `TAKEDOWN_SECRETS_KEY_FILE` names; unset: the
    /// `secrets.key` file in the key folder, made on first start. Instances sharing a database share it.
    public var secretsKey: String?
    public var secretsKeyFile: String?
    /// RFC 9224 bootstrap files naming the RDAP servers (`TAKEDOWN_RDAP_BOOTSTRAP`, comma-separated paths).
    public var rdapBootstrapFiles: [String] = []
    /// One RDAP server for every question (`TAKEDOWN_RDAP_URL`), or for what the bootstrap does not cover.
    public var rdapURL: String?
    /// An RDAP question's time limit; a case's questions end within twice this
    /// (`TAKEDOWN_RDAP_TIMEOUT_SECONDS`).
    public var rdapTimeout: TimeInterval = 5

    /// Defaults overlaid with the environment; flags are applied by the caller afterwards.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let env = { (name: String) -> String? in
            guard let value = environment["TAKEDOWN_\(name)"], !value.isEmpty else { return nil }
            return value
        }
        if let value = env("HOST") { host = value }
        if let value = env("PORT") {
            guard let port = Int(value), (0...65535).contains(port) else { throw SettingsError("TAKEDOWN_PORT", value) }
            self.port = port
        }
        if let value = env("DATA_DIR") { dataDirectory = value }
        databaseURL = env("DATABASE_URL")
        if let value = env("DATABASE_POOL_SIZE") {
            guard let size = Int(value), size >= 1 else { throw SettingsError("TAKEDOWN_DATABASE_POOL_SIZE", value) }
            databasePoolSize = size
        }
        publicURL = env("PUBLIC_URL")
        bootstrapAdminToken = env("BOOTSTRAP_ADMIN_TOKEN")
        if let value = env("TEMPLATES_DIR") { templatesDirectory = value }
        if let value = env("LOG_LEVEL") {
            guard let level = Logger.Level(rawValue: value.lowercased()) else {
                throw SettingsError("TAKEDOWN_LOG_LEVEL", value)
            }
            logLevel = level
        }
        if let value = env("MAX_BODY_BYTES") {
            guard let bytes = Int(value), bytes > 0 else { throw SettingsError("TAKEDOWN_MAX_BODY_BYTES", value) }
            maxBodyBytes = bytes
        }
        if let value = env("DEFAULT_DEADLINE_HOURS") {
            guard let hours = Self.finite(value), hours > 0 else {
                throw SettingsError("TAKEDOWN_DEFAULT_DEADLINE_HOURS", value)
            }
            defaultDeadlineHours = hours
        }
        if let value = env("ISSUER_NAME") { issuer.organisation = value }
        if let value = env("ISSUER_EMAIL") { issuer.contactEmail = value }
        if let value = env("ISSUER_COUNTRY") { issuer.country = value.uppercased() }
        if let value = env("ISSUER_WEBSITE") { issuer.website = value }
        allowPrivateTargets = env("ALLOW_PRIVATE_TARGETS") == "1"
        outbox.allowPrivateTargets = allowPrivateTargets
        verification.allowPrivateTargets = allowPrivateTargets
        if let value = env("ALLOWED_TARGETS") {
            let ranges = value.split(separator: ",", omittingEmptySubsequences: false).map {
                IPRange($0.trimmingCharacters(in: .whitespaces))
            }
            guard !ranges.isEmpty, ranges.allSatisfy({ $0 != nil }) else {
                throw SettingsError("TAKEDOWN_ALLOWED_TARGETS", value)
            }
            outbox.allowedTargets = ranges.compactMap { $0 }
        }
        verification.allowedTargets = outbox.allowedTargets
        imports.allowPrivateTargets = allowPrivateTargets
        imports.allowedTargets = outbox.allowedTargets
        try readVerification(env)
        try readImports(env)
        try readDNS(env)
        if let value = env("WEBHOOK_TIMEOUT_SECONDS") {
            guard let seconds = Self.finite(value), seconds >= Self.shortest else {
                throw SettingsError("TAKEDOWN_WEBHOOK_TIMEOUT_SECONDS", value)
            }
            outbox.requestTimeout = seconds
        }
        if let value = env("ENDPOINT_CONCURRENCY") {
            guard let cap = Int(value), cap > 0 else { throw SettingsError("TAKEDOWN_ENDPOINT_CONCURRENCY", value) }
            outbox.perEndpointCap = cap
        }
        if let value = env("RETRY_SCHEDULE") {
            let delays = value.split(separator: ",").map { Self.finite($0.trimmingCharacters(in: .whitespaces)) }
            guard !delays.isEmpty, delays.allSatisfy({ ($0 ?? -1) >= 0 }) else {
                throw SettingsError("TAKEDOWN_RETRY_SCHEDULE", value)
            }
            outbox.retryPolicy.schedule = delays.compactMap { $0 }
        }
        if let value = env("ENDPOINT_PAUSE_AFTER_HOURS") {
            guard let hours = Self.finite(value), hours > 0 else {
                throw SettingsError("TAKEDOWN_ENDPOINT_PAUSE_AFTER_HOURS", value)
            }
            outbox.pauseAfter = hours * 3600
        }
        if let url = env("SMTP_URL") {
            guard let scheme = URLComponents(string: url)?.scheme, scheme == "smtp" || scheme == "smtps",
                URLComponents(string: url)?.host != nil
            else { throw SettingsError("TAKEDOWN_SMTP_URL must be smtp://host[:port] or smtps://host[:port]") }
            guard let from = env("SMTP_FROM"), Syntax.isEmail(from) else {
                throw SettingsError(
                    "TAKEDOWN_SMTP_FROM must be the sender's email address when TAKEDOWN_SMTP_URL is set")
            }
            func flag(_ name: String) throws -> Bool {
                guard let value = env(name) else { return false }
                guard value == "0" || value == "1" else { throw SettingsError("TAKEDOWN_\(name)", value) }
                return value == "1"
            }
            smtp = SMTPTransport.Relay(
                url: url, from: from, user: env("SMTP_USER"), password: env("SMTP_PASSWORD"),
                allowsPlain: try flag("SMTP_PLAIN"), allowsPrivateAddress: try flag("SMTP_ALLOW_PRIVATE_RELAY"),
                caFile: env("SMTP_CA_FILE"))
            if let file = smtp?.caFile, !FileManager.default.isReadableFile(atPath: file) {
                throw SettingsError("TAKEDOWN_SMTP_CA_FILE names no readable file: \(file)")
            }
        }
        var escalationPartner: PartnerID?
        if let value = env("ESCALATION_PARTNER") {
            guard let id = PartnerID.parse(value) else { throw SettingsError("TAKEDOWN_ESCALATION_PARTNER", value) }
            escalationPartner = id
        }
        if let value = env("LADDER") {
            guard let parsed = EscalationLadder(parsing: value, escalateTo: escalationPartner) else {
                throw SettingsError("TAKEDOWN_LADDER", value)
            }
            ladder = parsed
        } else if let escalationPartner {
            ladder.steps = ladder.steps.map { step in
                if case .escalate = step.action {
                    return .init(after: step.after, action: .escalate(to: escalationPartner))
                }
                return step
            }
        }
        if let value = env("LADDER_INTERVAL_SECONDS") {
            guard let seconds = Self.finite(value), seconds >= Self.shortest else {
                throw SettingsError("TAKEDOWN_LADDER_INTERVAL_SECONDS", value)
            }
            ladderInterval = seconds
        }
        try readHashListSettings(env)
        try readLimits(env)
        issuer.trustedFlaggerDesignatedBy = env("TRUSTED_FLAGGER_DESIGNATED_BY")
        issuer.trustedFlaggerScope = env("TRUSTED_FLAGGER_SCOPE")
    }

    /// `TAKEDOWN_VERIFY_*`: how often, how long and how much URL verification may fetch.
    mutating func readVerification(_ env: (String) -> String?) throws {
        func seconds(_ name: String) throws -> TimeInterval? {
            guard let value = env(name) else { return nil }
            guard let seconds = Self.finite(value), seconds >= Self.shortest else {
                throw SettingsError("TAKEDOWN_\(name)", value)
            }
            return seconds
        }
        func count(_ name: String, from minimum: Int) throws -> Int? {
            guard let value = env(name) else { return nil }
            guard let number = Int(value), number >= minimum else { throw SettingsError("TAKEDOWN_\(name)", value) }
            return number
        }
        if let value = env("VERIFY_WORKER") {
            guard value == "0" || value == "1" else { throw SettingsError("TAKEDOWN_VERIFY_WORKER", value) }
            runsVerification = value == "1"
        }
        if let value = try seconds("VERIFY_INTERVAL_SECONDS") { verification.interval = value }
        if let value = try seconds("VERIFY_TIMEOUT_SECONDS") { verification.timeout = value }
        if let value = try seconds("VERIFY_POLL_SECONDS") { verification.pollInterval = value }
        if let value = try count("VERIFY_MAX_BYTES", from: 1) { verification.maxBytes = value }
        if let value = try count("VERIFY_MAX_REDIRECTS", from: 0) { verification.maxRedirects = value }
        if let value = try count("VERIFY_CONCURRENCY", from: 1) { verification.concurrency = min(value, 64) }
    }

    /// `TAKEDOWN_IMPORT_*`: how long a source's page may take, how large it may be, when a failed pull is
    /// tried again.
    mutating func readDNS(_ env: (String) -> String?) throws {
        if let value = env("DNS_SERVER") {
            let problem = SettingsError(
                "TAKEDOWN_DNS_SERVER must be an address with an optional port (192.0.2.53, 192.0.2.53:5353, [2001:db8::53]:53): \(value)"
            )
            var text = Substring(value)
            var port = 53
            if text.hasPrefix("[") {
                guard let close = text.firstIndex(of: "]") else { throw problem }
                let rest = text[text.index(after: close)...]
                if !rest.isEmpty {
                    guard rest.hasPrefix(":"), let number = Int(rest.dropFirst()) else { throw problem }
                    port = number
                }
                text = text[text.index(after: text.startIndex)..<close]
            } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
                guard let number = Int(text[text.index(after: colon)...]) else { throw problem }
                port = number
                text = text[..<colon]
            }
            guard let address = IPAddress(String(text)), (1...65535).contains(port) else { throw problem }
            dnsServer = (address, port)
        }
        if let value = env("DNS_TIMEOUT_SECONDS") {
            guard let seconds = Self.finite(value), seconds >= Self.shortest, seconds <= 60 else {
                throw SettingsError("TAKEDOWN_DNS_TIMEOUT_SECONDS", value)
            }
            dnsTimeout = seconds
        }
        if let value = env("RDAP_BOOTSTRAP") {
            rdapBootstrapFiles = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
        }
        if let value = env("RDAP_URL") {
            guard let url = WebURL(value), !url.hasCredentials else {
                throw SettingsError("TAKEDOWN_RDAP_URL must be an http or https URL: \(value)")
            }
            rdapURL = url.href
        }
        if let value = env("RDAP_TIMEOUT_SECONDS") {
            guard let seconds = Self.finite(value), seconds >= Self.shortest, seconds <= 60 else {
                throw SettingsError("TAKEDOWN_RDAP_TIMEOUT_SECONDS", value)
            }
            rdapTimeout = seconds
        }
        if let value = env("KEY_REFRESH_SECONDS") {
            guard let seconds = Self.finite(value), seconds >= Self.shortest, seconds <= 3600 else {
                throw SettingsError("TAKEDOWN_KEY_REFRESH_SECONDS", value)
            }
            keyRefreshInterval = seconds
        }
        if let value = env("RETIRED_KEY_PUBLISH_DAYS") {
            guard let days = Self.finite(value), days >= 1, days <= 36_500 else {
                throw SettingsError("TAKEDOWN_RETIRED_KEY_PUBLISH_DAYS", value)
            }
            retiredKeyPublication = days * 86_400
        }
        secretsKey = env("SECRETS_KEY").flatMap { $0.isEmpty ? nil : $0 }
        secretsKeyFile = env("SECRETS_KEY_FILE").flatMap { $0.isEmpty ? nil : $0 }
        if secretsKey != nil, secretsKeyFile != nil {
            throw SettingsError("TAKEDOWN_SECRETS_KEY and TAKEDOWN_SECRETS_KEY_FILE are both set; set one")
        }
        if let value = env("LOG_CHECKPOINT_SECONDS") {
            guard let seconds = Self.finite(value), seconds >= Self.shortest, seconds <= 86_400 else {
                throw SettingsError("TAKEDOWN_LOG_CHECKPOINT_SECONDS", value)
            }
            logCheckpointInterval = seconds
        }
        if let value = env("LOG_ORIGIN") {
            // A C2SP key name: the log's origin names its key.
            guard !value.isEmpty, value.utf8.count <= 200,
                !value.contains(where: { $0 == " " || $0 == "+" || $0.isNewline })
            else {
                throw SettingsError("TAKEDOWN_LOG_ORIGIN is a name without spaces or plus signs: \(value.prefix(200))")
            }
            logOrigin = value
        }
        if let value = env("REFERRAL_REPORT_SECONDS") {
            guard let seconds = Self.finite(value), seconds >= Self.shortest, seconds <= 86_400 else {
                throw SettingsError("TAKEDOWN_REFERRAL_REPORT_SECONDS", value)
            }
            referralReportInterval = seconds
        }
    }

    mutating func readImports(_ env: (String) -> String?) throws {
        if let value = env("IMPORT_TIMEOUT_SECONDS") {
            guard let seconds = Self.finite(value), seconds >= 1, seconds <= 3600 else {
                throw SettingsError("TAKEDOWN_IMPORT_TIMEOUT_SECONDS", value)
            }
            imports.timeout = seconds
        }
        if let value = env("IMPORT_MAX_PAGE_BYTES") {
            guard let bytes = Int(value), bytes >= 1024 else {
                throw SettingsError("TAKEDOWN_IMPORT_MAX_PAGE_BYTES", value)
            }
            imports.maxPageBytes = bytes
        }
        if let value = env("IMPORT_RETRY_SECONDS") {
            guard let seconds = Self.finite(value), seconds >= 1 else {
                throw SettingsError("TAKEDOWN_IMPORT_RETRY_SECONDS", value)
            }
            imports.retryAfter = seconds
        }
    }

    /// `TAKEDOWN_RATE_LIMITS`, timeouts, connection and concurrency caps, and where metrics are served.
    mutating func readLimits(_ env: (String) -> String?) throws {
        if let value = env("RATE_LIMITS") {
            guard value.split(separator: ",", omittingEmptySubsequences: false).allSatisfy({ !$0.isEmpty }),
                let limits = RateLimits(parsing: value)
            else { throw SettingsError("TAKEDOWN_RATE_LIMITS", value) }
            rateLimits = limits
        }
        if let value = env("IDLE_TIMEOUT") {
            guard let seconds = Self.finite(value), seconds >= 1, seconds <= 86_400 else {
                throw SettingsError("TAKEDOWN_IDLE_TIMEOUT", value)
            }
            idleTimeout = seconds
        }
        if let value = env("READ_TIMEOUT") {
            guard let seconds = Self.finite(value), seconds >= 1, seconds <= 3_600 else {
                throw SettingsError("TAKEDOWN_READ_TIMEOUT", value)
            }
            readTimeout = seconds
        }
        if let value = env("MAX_CONNECTIONS") {
            guard let count = Int(value), (1...1_000_000).contains(count) else {
                throw SettingsError("TAKEDOWN_MAX_CONNECTIONS", value)
            }
            maxConnections = count
        }
        if let value = env("MAX_HEAVY_PER_PARTNER") {
            guard let count = Int(value), (1...1_000).contains(count) else {
                throw SettingsError("TAKEDOWN_MAX_HEAVY_PER_PARTNER", value)
            }
            maxHeavyPerCaller = count
        }
        if let value = env("METRICS_TOKEN") {
            guard value.utf8.count >= 16, value.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
                throw SettingsError("TAKEDOWN_METRICS_TOKEN must be at least 16 visible ASCII characters")
            }
            metricsToken = value
        }
        if let value = env("METRICS_ADDR") {
            guard let colon = value.lastIndex(of: ":"), let port = Int(value[value.index(after: colon)...]),
                (1...65535).contains(port), colon > value.startIndex
            else { throw SettingsError("TAKEDOWN_METRICS_ADDR must be host:port", value) }
            var host = String(value[..<colon])
            if host.hasPrefix("[") || host.hasSuffix("]") {
                guard host.hasPrefix("["), host.hasSuffix("]"), IPAddress(String(host.dropFirst().dropLast())) != nil
                else { throw SettingsError("TAKEDOWN_METRICS_ADDR must be host:port or [IPv6]:port", value) }
                host = String(host.dropFirst().dropLast())
            } else if IPAddress(host) == nil, !Syntax.isHostname(host), host != "localhost" {
                throw SettingsError("TAKEDOWN_METRICS_ADDR must be host:port or [IPv6]:port", value)
            }
            metricsAddress = (host, port)
        }
    }

    /// Refuses settings that would put invalid data into signed notices.
    public func validate() throws {
        guard Syntax.isEmail(issuer.contactEmail) else {
            throw SettingsError("TAKEDOWN_ISSUER_EMAIL is not an email address: \(issuer.contactEmail)")
        }
        guard Syntax.isCountryCode(issuer.country) else {
            throw SettingsError("TAKEDOWN_ISSUER_COUNTRY is not an ISO 3166-1 alpha-2 code: \(issuer.country)")
        }
        if let website = issuer.website, Syntax.normalisedWebURL(website) == nil {
            throw SettingsError("TAKEDOWN_ISSUER_WEBSITE is not an http(s) URL: \(website)")
        }
        if let url = publicURL, Syntax.normalisedWebURL(url) == nil {
            throw SettingsError("TAKEDOWN_PUBLIC_URL is not an http(s) URL: \(url)")
        }
    }

    /// A number a setting may hold: finite and at most a billion (so `inf`, `nan` and `1e300`, which would
    /// trap later when turned into whole milliseconds, are refused at start-up).
    /// The shortest interval or timeout a setting may name: anything shorter turns a loop into a busy loop
    /// or makes every request time out at once.
    static let shortest: TimeInterval = 0.01

    static func finite(_ text: some StringProtocol) -> Double? {
        guard let number = Double(text), number.isFinite, abs(number) <= 1e9 else { return nil }
        return number
    }

    /// The notice templates: the folder of `TAKEDOWN_TEMPLATES_DIR`, else the set built into the binary.
    public func noticeTemplates() async throws -> NoticeTemplates {
        guard let templatesDirectory else { return try NoticeTemplates(files: BundledFiles.folder("Templates")) }
        return try await NoticeTemplates(directory: URL(fileURLWithPath: templatesDirectory))
    }

    /// The base URL notices name: `TAKEDOWN_PUBLIC_URL`, else where the API listens.
    public var resolvedPublicURL: String {
        publicURL ?? "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }

    public var databasePath: String { (dataDirectory as NSString).appendingPathComponent("takedown.sqlite") }
    public var keysDirectory: URL { URL(fileURLWithPath: dataDirectory).appendingPathComponent("keys") }
}

public struct SettingsError: Error, CustomStringConvertible {
    public let description: String

    init(_ name: String, _ value: String) {
        description = "\(name) has an invalid value: \(value)"
    }

    public init(_ description: String) { self.description = description }
}
