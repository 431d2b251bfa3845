import CCurl
import Foundation
import TakedownModel

/// Sends a delivery's prepared message through the configured mail relay with libcurl (`smtp://` with
/// STARTTLS, or `smtps://` for implicit TLS). TLS is required unless the operator allows plain SMTP.
/// The relay's name is resolved and checked by the target guard for every message and libcurl connects
/// to the approved address (TLS still checks the relay's name); proxy settings from the environment are
/// ignored.
public struct SMTPTransport: DeliveryTransport {
    public struct Relay: Sendable {
        public var url: String
        public var from: String
        public var user: String?
        public var password: String?
        /// Plain SMTP allowed (`TAKEDOWN_SMTP_PLAIN=1`): STARTTLS when the relay offers it, else none.
        public var allowsPlain: Bool
        /// The relay may be on a loopback or private address (`TAKEDOWN_SMTP_ALLOW_PRIVATE_RELAY=1`).
        /// It lets this one host through the guard; webhooks and verification stay guarded.
        public var allowsPrivateAddress: Bool
        /// A PEM file of the authorities to trust for the relay's certificate instead of the system's
        /// (`TAKEDOWN_SMTP_CA_FILE`), for a relay under a private CA.
        public var caFile: String?

        public init(
            url: String, from: String, user: String? = nil, password: String? = nil, allowsPlain: Bool = false,
            allowsPrivateAddress: Bool = false, caFile: String? = nil
        ) {
            self.caFile = caFile
            self.url = url
            self.from = from
            self.user = user
            self.password = password
            self.allowsPlain = allowsPlain
            self.allowsPrivateAddress = allowsPrivateAddress
        }

        /// The relay's host and port (the URL's, else libcurl's defaults: 465 for `smtps://`, 25 for `smtp://`).
        var endpoint: (host: String, port: Int)? {
            guard let components = URLComponents(string: url), let host = components.host, !host.isEmpty,
                let scheme = components.scheme?.lowercased()
            else { return nil }
            return (host, components.port ?? (scheme == "smtps" ? 465 : 25))
        }
    }

    let relay: Relay
    let timeout: TimeInterval
    let guardrail: TargetGuard

    /// `resolver` answers the guard's lookups (the system's resolver unless a test scripts one).
    public init(
        relay: Relay, timeout: TimeInterval, allowPrivateTargets: Bool, allowedTargets: [IPRange] = [],
        resolver: any HostResolver = SystemResolver()
    ) {
        self.relay = relay
        self.timeout = timeout
        guardrail = TargetGuard(
            allowPrivate: allowPrivateTargets || relay.allowsPrivateAddress, allowed: allowedTargets, resolver: resolver
        )
        _ = Self.globalInit
    }

    /// `curl_global_init` once per process, before any thread uses libcurl.
    static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    public func send(_ delivery: Delivery, secrets: [String], now: Date) async -> TransportResult {
        await transfer(to: delivery.endpoint, message: delivery.payload)
    }

    /// Whether the relay can take mail: it answers, negotiates TLS as required, accepts the credentials and
    /// a `NOOP`. Nil when it does, else why not (for `takedown doctor`).
    public func probe() async -> String? {
        let result = await transfer(to: nil, message: Data())
        return result.accepted == true ? nil : result.error ?? "the relay did not answer"
    }

    /// One session with the relay at the address the guard approved: the message to `recipient`, or a
    /// `NOOP` when there is none.
    func transfer(to recipient: String?, message: Data) async -> TransportResult {
        guard let (host, port) = relay.endpoint else {
            return TransportResult(error: "TAKEDOWN_SMTP_URL has no host", refused: true)
        }
        let address: IPAddress
        switch await guardrail.check(host: host, within: timeout) {
        case .approved(let target): address = target.addresses[0]
        case .refused(let reason): return TransportResult(error: "target refused: \(reason)", refused: true)
        case .unresolvable(let permanent):
            return TransportResult(
                error: permanent
                    ? "the mail relay \(host) does not exist (DNS)" : "DNS lookup of \(host) failed for now")
        }
        let relay = relay
        let timeout = timeout
        // libcurl blocks; run it off the cooperative pool.
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(
                    returning: Self.perform(
                        relay: relay, connectTo: Self.connectTo(address, port: port), to: recipient,
                        message: message, timeout: timeout))
            }
        }
    }

    /// A `CURLOPT_CONNECT_TO` entry sending every connection of the transfer (any host, any port) to
    /// the approved address: libcurl never resolves the relay's name itself.
    static func connectTo(_ address: IPAddress, port: Int) -> String {
        address.bytes.count == 16 ? "::[\(address)]:\(port)" : "::\(address):\(port)"
    }

    final class Upload {
        let bytes: [UInt8]
        var offset = 0

        init(_ data: Data) { bytes = Array(data) }
    }

    static func perform(
        relay: Relay, connectTo: String, to recipient: String?, message: Data, timeout: TimeInterval
    ) -> TransportResult {
        let started = ContinuousClock.now
        func elapsed() -> Int {
            let duration = ContinuousClock.now - started
            return Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
        }
        guard let handle = curl_easy_init() else { return TransportResult(error: "libcurl could not start") }
        defer { curl_easy_cleanup(handle) }
        let upload = Upload(message)
        let context = Unmanaged.passUnretained(upload).toOpaque()
        var recipients: UnsafeMutablePointer<curl_slist>? = recipient.flatMap { curl_slist_append(nil, "<\($0)>") }
        defer { curl_slist_free_all(recipients) }
        let pins = curl_slist_append(nil, connectTo)
        defer { curl_slist_free_all(pins) }

        _ = takedown_setopt_string(handle, CURLOPT_URL, relay.url)
        if recipients != nil {
            _ = takedown_setopt_string(handle, CURLOPT_MAIL_FROM, "<\(relay.from)>")
            _ = takedown_setopt_list(handle, CURLOPT_MAIL_RCPT, recipients)
            _ = takedown_setopt_long(handle, CURLOPT_UPLOAD, 1)
        } else {
            _ = takedown_setopt_string(handle, CURLOPT_CUSTOMREQUEST, "NOOP")
            _ = takedown_setopt_discard_output(handle)
        }
        _ = takedown_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        _ = takedown_setopt_long(handle, CURLOPT_TIMEOUT_MS, Int(timeout * 1000))
        _ = takedown_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(min(timeout, 10) * 1000))
        let tls = relay.allowsPlain ? CURLUSESSL_TRY : CURLUSESSL_ALL
        // The options that keep the message where the guard checked and encrypted: none may be missing.
        let safety =
            [
                takedown_setopt_list(handle, CURLOPT_CONNECT_TO, pins),
                takedown_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "smtp,smtps"),
                takedown_setopt_string(handle, CURLOPT_PROXY, ""),
                takedown_setopt_string(handle, CURLOPT_NOPROXY, "*"),
                takedown_setopt_long(handle, CURLOPT_USE_SSL, Int(tls.rawValue)),
            ] + (relay.caFile.map { [takedown_setopt_string(handle, CURLOPT_CAINFO, $0)] } ?? [])
        guard safety.allSatisfy({ $0 == CURLE_OK }) else {
            return TransportResult(
                error: "libcurl refused an option the SMTP transport requires (libcurl 7.85 or later)")
        }
        if let user = relay.user { _ = takedown_setopt_string(handle, CURLOPT_USERNAME, user) }
        if let password = relay.password { _ = takedown_setopt_string(handle, CURLOPT_PASSWORD, password) }
        _ = takedown_setopt_pointer(handle, CURLOPT_READDATA, context)
        _ = takedown_setopt_read(handle) { buffer, size, count, context in
            guard let buffer, let context else { return 0 }
            let upload = Unmanaged<Upload>.fromOpaque(context).takeUnretainedValue()
            let length = min(size * count, upload.bytes.count - upload.offset)
            guard length > 0 else { return 0 }
            upload.bytes.withUnsafeBufferPointer { source in
                UnsafeMutableRawPointer(buffer).copyMemory(from: source.baseAddress! + upload.offset, byteCount: length)
            }
            upload.offset += length
            return length
        }

        let code = curl_easy_perform(handle)
        var reply = 0
        _ = takedown_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &reply)
        withExtendedLifetime(upload) {}
        recipients = recipients ?? nil
        if code == CURLE_OK {
            return TransportResult(
                statusCode: reply, responseExcerpt: "SMTP \(reply)", latencyMs: elapsed(), accepted: true)
        }
        if code == CURLE_USE_SSL_FAILED {
            return TransportResult(
                error: "the relay offers no TLS, which is required (TAKEDOWN_SMTP_PLAIN=1 allows plain SMTP)",
                latencyMs: elapsed(), accepted: false)
        }
        let message = String(cString: curl_easy_strerror(code))
        // The relay's last reply is the answer only when it is an error (a 250 to EHLO is not).
        let failed = reply >= 400 ? reply : nil
        // A permanent (5xx) refusal from the relay will not change on retry.
        return TransportResult(
            statusCode: failed, error: "SMTP \(failed.map { "\($0) " } ?? "")\(message)",
            responseExcerpt: failed.map { "SMTP \($0)" }, latencyMs: elapsed(),
            refused: (500...599).contains(reply), accepted: false)
    }
}
