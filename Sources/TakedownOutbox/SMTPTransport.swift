import CCurl
import Foundation
import TakedownModel

/// Sends a delivery's prepared message through the configured mail relay with libcurl (`smtp://`, or
/// `smtps://` for implicit TLS; `smtp://` upgrades with STARTTLS when the relay offers it).
public struct SMTPTransport: DeliveryTransport {
    public struct Relay: Sendable {
        public var url: String
        public var from: String
        public var user: String?
        public var password: String?

        public init(url: String, from: String, user: String? = nil, password: String? = nil) {
            self.url = url
            self.from = from
            self.user = user
            self.password = password
        }
    }

    let relay: Relay
    let timeout: TimeInterval
    let guardrail: TargetGuard

    public init(relay: Relay, timeout: TimeInterval, allowPrivateTargets: Bool) {
        self.relay = relay
        self.timeout = timeout
        guardrail = TargetGuard(allowPrivate: allowPrivateTargets)
        _ = Self.globalInit
    }

    /// `curl_global_init` once per process, before any thread uses libcurl.
    static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    public func send(_ delivery: Delivery, secrets: [String], now: Date) async -> TransportResult {
        guard let host = URLComponents(string: relay.url)?.host else {
            return TransportResult(error: "TAKEDOWN_SMTP_URL has no host", refused: true)
        }
        if let refusal = guardrail.refusal(host: host) {
            return TransportResult(error: "target refused: \(refusal)", refused: true)
        }
        let relay = relay
        let timeout = timeout
        // libcurl blocks; run it off the cooperative pool.
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(
                    returning: Self.perform(
                        relay: relay, to: delivery.endpoint, message: delivery.payload, timeout: timeout))
            }
        }
    }

    final class Upload {
        let bytes: [UInt8]
        var offset = 0

        init(_ data: Data) { bytes = Array(data) }
    }

    static func perform(relay: Relay, to recipient: String, message: Data, timeout: TimeInterval) -> TransportResult {
        let started = ContinuousClock.now
        func elapsed() -> Int {
            let duration = ContinuousClock.now - started
            return Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
        }
        guard let handle = curl_easy_init() else { return TransportResult(error: "libcurl could not start") }
        defer { curl_easy_cleanup(handle) }
        let upload = Upload(message)
        let context = Unmanaged.passUnretained(upload).toOpaque()
        var recipients: UnsafeMutablePointer<curl_slist>? = curl_slist_append(nil, "<\(recipient)>")
        defer { curl_slist_free_all(recipients) }

        _ = takedown_setopt_string(handle, CURLOPT_URL, relay.url)
        _ = takedown_setopt_string(handle, CURLOPT_MAIL_FROM, "<\(relay.from)>")
        _ = takedown_setopt_list(handle, CURLOPT_MAIL_RCPT, recipients)
        _ = takedown_setopt_long(handle, CURLOPT_UPLOAD, 1)
        _ = takedown_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        _ = takedown_setopt_long(handle, CURLOPT_TIMEOUT_MS, Int(timeout * 1000))
        _ = takedown_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(min(timeout, 10) * 1000))
        _ = takedown_setopt_long(handle, CURLOPT_USE_SSL, Int(CURLUSESSL_TRY.rawValue))
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
        let message = String(cString: curl_easy_strerror(code))
        // A permanent (5xx) refusal from the relay will not change on retry.
        return TransportResult(
            statusCode: reply > 0 ? reply : nil, error: "SMTP \(reply > 0 ? "\(reply) " : "")\(message)",
            responseExcerpt: reply > 0 ? "SMTP \(reply)" : nil, latencyMs: elapsed(),
            refused: (500...599).contains(reply), accepted: false)
    }
}
