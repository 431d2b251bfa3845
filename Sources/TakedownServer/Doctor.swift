import Foundation
import Logging
import TakedownDocuments
import TakedownOutbox
import TakedownPostgres
import TakedownSQLite
import TakedownService
import TakedownSigning
import TakedownStore

/// `takedown doctor`: checks a deployment's settings without changing anything (no schema is migrated, no
/// key or folder is created) and names each problem in one line.
public enum Doctor {
    public struct Finding: Sendable, Equatable {
        /// What was checked, such as `store` or `keys`.
        public var check: String
        /// What was found, or what is wrong.
        public var detail: String
        public var isProblem: Bool

        static func ok(_ check: String, _ detail: String) -> Finding {
            Finding(check: check, detail: detail, isProblem: false)
        }
        static func problem(_ check: String, _ problem: String) -> Finding {
            Finding(check: check, detail: problem, isProblem: true)
        }

        /// The line `takedown doctor` prints.
        public var line: String { (isProblem ? "PROBLEM  " : "ok       ") + "\(check): \(detail)" }
    }

    /// How long reaching PostgreSQL or the mail relay may take before it counts as unreachable.
    public static let reachTimeout: TimeInterval = 10

    public static func check(_ settings: ServerSettings) async -> [Finding] {
        var findings = [publicURL(settings), await templates(settings)]
        findings += await keys(settings)
        findings.append(await store(settings))
        findings.append(await smtp(settings))
        return findings
    }

    static func publicURL(_ settings: ServerSettings) -> Finding {
        do {
            try settings.validate()
        } catch {
            return .problem("settings", "\(error)")
        }
        guard let url = settings.publicURL else {
            return .problem(
                "public URL",
                "TAKEDOWN_PUBLIC_URL is not set: notices and lists would name \(settings.resolvedPublicURL), which partners cannot reach"
            )
        }
        let host = URLComponents(string: url)?.host ?? ""
        let loopback = host == "localhost" || host.hasPrefix("127.") || host == "[::1]" || host == "::1"
        if url.lowercased().hasPrefix("http://"), !loopback {
            return .problem(
                "public URL",
                "TAKEDOWN_PUBLIC_URL \(url) is not https: partners' tokens would cross the network in clear")
        }
        return .ok("public URL", url)
    }

    static func templates(_ settings: ServerSettings) async -> Finding {
        do {
            let templates = try await settings.noticeTemplates()
            let source = settings.templatesDirectory.map { "from \($0)" } ?? "built in"
            return .ok("templates", "\(templates.languages.joined(separator: ", ")), \(source)")
        } catch {
            return .problem("templates", "TAKEDOWN_TEMPLATES_DIR \(settings.templatesDirectory ?? ""): \(error)")
        }
    }

    /// The secrets key (from the environment, its own file, or the key folder) and the signing keys it
    /// opens in the store: an active one, every one readable with this secrets key.
    static func keys(_ settings: ServerSettings) async -> [Finding] {
        let box: SecretBox
        switch secretsKey(settings) {
        case .problems(let findings): return findings
        case .found(let opened): box = opened
        }
        guard let stored = await storedKeys(settings, box) else {
            return [.ok("keys", "secrets key \(box.path); the signing keys are checked once the store is")]
        }
        switch stored {
        case .failure(let error):
            return [
                .problem(
                    "keys",
                    "the stored signing keys do not open with the secrets key \(box.path) (\(error)): every instance must use the same TAKEDOWN_SECRETS_KEY"
                )
            ]
        case .success(let ring) where ring.active == nil:
            if (try? GatewayComposition.legacyKeyFolder(settings)) != nil {
                return [
                    .problem(
                        "keys",
                        "the signing keys are still files in \(settings.keysDirectory.path): `takedown keys import` moves them into the store (the next start does too)"
                    )
                ]
            }
            return [.problem("keys", "no active signing key in the store: `takedown keys create` makes one")]
        case .success(let ring):
            return [
                .ok(
                    "keys",
                    "\(ring.keys.count) signing key(s) in the store, active \(ring.active?.kid ?? ""); secrets key \(box.path)"
                )
            ]
        }
    }

    /// The secrets key, or what is wrong with it: the environment's, the file's, or the key folder's, which
    /// must be present, owned by this user and open to nobody else (key files from before keys moved into
    /// the store are held to the same rule).
    static func secretsKey(_ settings: ServerSettings) -> SecretsKey {
        if settings.secretsKey != nil || settings.secretsKeyFile != nil {
            if let path = settings.secretsKeyFile, let problem = ownerOnly(path, folder: false) {
                return .problems([.problem("keys", "TAKEDOWN_SECRETS_KEY_FILE: \(problem)")])
            }
            do {
                return .found(try GatewayComposition.secretBox(settings))
            } catch {
                return .problems([.problem("keys", "\(error)")])
            }
        }
        let directory = settings.keysDirectory.path
        let files = FileManager.default
        var isFolder: ObjCBool = false
        guard files.fileExists(atPath: directory, isDirectory: &isFolder), isFolder.boolValue else {
            return .problems([
                .problem(
                    "keys",
                    "no key folder at \(directory) and no TAKEDOWN_SECRETS_KEY: `takedown serve` creates the folder's secrets key on first start; instances sharing a database must share the key"
                )
            ])
        }
        var findings: [Finding] = []
        if let problem = ownerOnly(directory, folder: true) { findings.append(.problem("keys", problem)) }
        let names = (try? files.contentsOfDirectory(atPath: directory))?.filter { !$0.hasPrefix(".") }.sorted() ?? []
        for name in names where name.hasSuffix(".key.json") || name == SecretBox.fileName {
            let path = (directory as NSString).appendingPathComponent(name)
            if let problem = ownerOnly(path, folder: false) { findings.append(.problem("keys", problem)) }
        }
        guard findings.isEmpty else { return .problems(findings) }
        guard files.fileExists(atPath: (directory as NSString).appendingPathComponent(SecretBox.fileName)) else {
            return .problems([
                .problem(
                    "keys",
                    "\(SecretBox.fileName) is missing from \(directory): the signing keys, webhook secrets and source credentials in the store cannot be opened without it"
                )
            ])
        }
        do {
            return .found(try SecretBox.load(directory: settings.keysDirectory))
        } catch {
            return .problems([.problem("keys", "\(directory): \(error)")])
        }
    }

    enum SecretsKey {
        case found(SecretBox)
        case problems([Finding])
    }

    /// The signing keys in the store, opened with `box`; nil when the store cannot be read or is not
    /// migrated (the store's own finding says why).
    static func storedKeys(_ settings: ServerSettings, _ box: SecretBox) async -> Result<KeyRing, any Error>? {
        let secrets = StoreSecrets(box: box)
        if let url = settings.databaseURL {
            var logger = Logger(label: "takedown.doctor")
            logger.logLevel = .critical
            guard let store = try? PostgresStore(url: url, poolSize: 1, secrets: secrets, logger: logger) else {
                return nil
            }
            let result = await within(reachTimeout, orElse: { await store.shutdown() }) {
                () async throws -> Result<KeyRing, any Error>? in
                guard try await store.migrationState().pending.isEmpty else { return nil }
                do { return .success(try await SigningKeys.load(store)) } catch { return .failure(error) }
            }
            await store.shutdown()
            guard case .success(let found)? = result else { return nil }
            return found
        }
        guard FileManager.default.fileExists(atPath: settings.databasePath),
            let store = try? SQLiteStore(path: settings.databasePath, secrets: secrets),
            (try? await store.migrationState().pending.isEmpty) == true
        else { return nil }
        do { return .success(try await SigningKeys.load(store)) } catch { return .failure(error) }
    }

    /// Nil when `path` belongs to this user and group and others have no access, else the fix.
    static func ownerOnly(_ path: String, folder: Bool) -> String? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
            return "\(path) cannot be read"
        }
        let owner = (attributes[.ownerAccountID] as? NSNumber)?.uint32Value
        if let owner, owner != geteuid() {
            return "\(path) belongs to user \(owner), not to the user running the gateway (\(geteuid()))"
        }
        // The same rule the key ring applies when it loads (`KeyFile.checkOwnerOnly`).
        do {
            try KeyFile.checkOwnerOnly(path)
        } catch {
            let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0
            return
                "\(path) is open to group or others (mode \(String(mode, radix: 8))): chmod \(folder ? 700 : 600) \(path)"
        }
        guard FileManager.default.isReadableFile(atPath: path) else { return "\(path) is not readable by its owner" }
        return nil
    }

    /// The store answers and its schema is this gateway's: SQLite's file must exist (doctor creates nothing).
    static func store(_ settings: ServerSettings) async -> Finding {
        if let url = settings.databaseURL {
            let name = GatewayComposition.redacted(url)
            let store: PostgresStore
            do {
                var logger = Logger(label: "takedown.doctor")
                logger.logLevel = .critical
                store = try PostgresStore(url: url, poolSize: 1, logger: logger)
            } catch {
                return .problem("store", "TAKEDOWN_DATABASE_URL (\(name)): \(error)")
            }
            // A server that never answers leaves the query waiting on the pool: closing the pool ends it.
            let state = await within(reachTimeout, orElse: { await store.shutdown() }) {
                try await store.migrationState()
            }
            await store.shutdown()
            return finding(state, name)
        }
        let path = settings.databasePath
        guard FileManager.default.fileExists(atPath: path) else {
            return .problem("store", "no database at \(path): `takedown migrate` creates it")
        }
        do {
            let store = try SQLiteStore(path: path)
            return finding(.success(try await store.migrationState()), path)
        } catch {
            return .problem("store", "\(path): \(error)")
        }
    }

    static func finding(_ state: Result<MigrationState, any Error>?, _ name: String) -> Finding {
        switch state {
        case nil: return .problem("store", "\(name) did not answer within \(Int(reachTimeout)) s")
        case .failure(let error): return .problem("store", "\(name) cannot be reached: \(error)")
        case .success(let state) where !state.unknown.isEmpty:
            return .problem(
                "store",
                "\(name) has migrations this gateway does not know (\(state.unknown.joined(separator: ", "))): a newer version wrote it"
            )
        case .success(let state) where !state.pending.isEmpty:
            return .problem(
                "store",
                "\(name) lacks migrations \(state.pending.joined(separator: ", ")): run `takedown migrate`")
        case .success: return .ok("store", "\(name) answers, schema up to date")
        }
    }

    /// The mail relay greets, negotiates TLS as required, accepts the credentials and a NOOP.
    static func smtp(_ settings: ServerSettings) async -> Finding {
        guard let relay = settings.smtp else { return .ok("email", "TAKEDOWN_SMTP_URL unset: no notices by email") }
        let transport = SMTPTransport(
            relay: relay, timeout: reachTimeout, allowPrivateTargets: settings.outbox.allowPrivateTargets,
            allowedTargets: settings.outbox.allowedTargets)
        let name = GatewayComposition.redacted(relay.url)
        if let problem = await transport.probe() { return .problem("email", "the relay \(name): \(problem)") }
        return .ok("email", "the relay \(name) takes mail")
    }

    /// The body's result, or nil when it takes longer than `seconds`; then `orElse` runs, to end what the
    /// body waits on (the group returns only once the body has).
    static func within<T: Sendable>(
        _ seconds: TimeInterval, orElse: @escaping @Sendable () async -> Void,
        _ body: @escaping @Sendable () async throws -> T
    ) async -> Result<T, any Error>? {
        await withTaskGroup(of: Result<T, any Error>?.self) { group in
            group.addTask {
                do { return .success(try await body()) } catch { return .failure(error) }
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(seconds))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            if first == nil { await orElse() }
            return first
        }
    }
}
