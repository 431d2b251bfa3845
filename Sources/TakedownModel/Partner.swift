import Foundation

/// A hosting provider, law-enforcement agency or peer hotline that receives notices.
public struct Partner: Codable, Sendable, Equatable {
    public var id: PartnerID
    public var name: String
    public var kind: PartnerKind
    public var contactEmail: String
    public var locale: String
    public var jurisdiction: String
    public var routing: RoutingRules
    public var delivery: DeliveryChannels
    /// The SLA policy of its notices; `sla_default` when none was given.
    public var slaPolicyId: SLAPolicyID
    public var createdAt: Date
    public var updatedAt: Date
    /// `suspended` while an admin holds the partner: its tokens do not authenticate and its pushes wait.
    /// Set by the store (`PartnerStatusStore`), never by a partner update.
    public private(set) var status: PartnerStatus
    /// When it was suspended, and why; set only while suspended, shown to staff only.
    public private(set) var suspendedAt: Date?
    public private(set) var suspensionReason: String?

    public init(
        id: PartnerID, name: String, kind: PartnerKind, contactEmail: String, locale: String,
        jurisdiction: String, routing: RoutingRules, delivery: DeliveryChannels,
        slaPolicyId: SLAPolicyID = .standard, createdAt: Date, updatedAt: Date, suspendedAt: Date? = nil,
        suspensionReason: String? = nil
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        self.contactEmail = contactEmail
        self.locale = locale
        self.jurisdiction = jurisdiction
        self.routing = routing
        self.delivery = delivery
        self.slaPolicyId = slaPolicyId
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.status = suspendedAt == nil ? .active : .suspended
        self.suspendedAt = suspendedAt
        self.suspensionReason = suspendedAt == nil ? nil : suspensionReason
    }

    /// The partner as it shows itself to its own tokens: without the staff's suspension details.
    public var ownView: Partner {
        var view = self
        view.suspendedAt = nil
        view.suspensionReason = nil
        return view
    }
}

/// Whether a partner's tokens work and its pushes go out.
public enum PartnerStatus: String, Codable, Sendable, CaseIterable {
    case active
    case suspended
}

public enum PartnerKind: String, Codable, Sendable, CaseIterable {
    case hostingProvider = "hosting_provider"
    case lawEnforcement = "law_enforcement"
    case hotline
}

/// Which URLs a hosting provider answers for: domains (with subdomains), IP ranges and ASNs; and, for a
/// peer hotline, the hosting countries it covers.
public struct RoutingRules: Codable, Sendable, Equatable {
    public var domains: [String]
    public var ipRanges: [String]
    public var asns: [Int]
    /// A hotline's jurisdictions: ISO 3166-1 alpha-2 codes of the hosting countries it takes referrals for.
    public var countries: [String]

    public init(domains: [String] = [], ipRanges: [String] = [], asns: [Int] = [], countries: [String] = []) {
        self.domains = domains
        self.ipRanges = ipRanges
        self.asns = asns
        self.countries = countries
    }

    enum CodingKeys: String, CodingKey {
        case domains, ipRanges, asns, countries
    }

    /// Rules stored before hotlines covered countries have none.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        domains = try container.decode([String].self, forKey: .domains)
        ipRanges = try container.decode([String].self, forKey: .ipRanges)
        asns = try container.decode([Int].self, forKey: .asns)
        countries = try container.decodeIfPresent([String].self, forKey: .countries) ?? []
    }
}

/// Where notices are pushed; a partner with no channel polls. A peer hotline's gateway takes its
/// notices as signed referrals.
public struct DeliveryChannels: Codable, Sendable, Equatable {
    public var webhookUrl: String?
    public var email: String?
    public var gateway: PeerGateway?

    public init(webhookUrl: String? = nil, email: String? = nil, gateway: PeerGateway? = nil) {
        self.webhookUrl = webhookUrl
        self.email = email
        self.gateway = gateway
    }
}

/// The gateway of a peer hotline: where referrals go (`{base_url}/v1/referrals`), the keys its referrals
/// and status updates are checked against (pinned at registration, refreshed only by staff), and whether
/// its referrals are accepted without an analyst.
public struct PeerGateway: Codable, Sendable, Equatable {
    /// The peer's public base URL: the `iss` of what it signs, and the `aud` of what we send it.
    public var baseUrl: String
    public var keys: [PeerKey]
    public var keysPinnedAt: Date
    public var trusted: Bool

    public init(baseUrl: String, keys: [PeerKey], keysPinnedAt: Date, trusted: Bool = false) {
        self.baseUrl = baseUrl
        self.keys = keys
        self.keysPinnedAt = keysPinnedAt
        self.trusted = trusted
    }
}

/// One public key of a peer, as its JWKS publishes it (an Ed25519 OKP key, RFC 8037).
public struct PeerKey: Codable, Sendable, Equatable {
    public var kty: String
    public var crv: String
    public var x: String
    public var kid: String

    public init(kty: String = "OKP", crv: String = "Ed25519", x: String, kid: String) {
        self.kty = kty
        self.crv = crv
        self.x = x
        self.kid = kid
    }

    /// A usable key: Ed25519, with a `kid` of at most 128 bytes and a 32-byte `x`; nil otherwise.
    public init?(kty: String?, crv: String?, x: String?, kid: String?) {
        guard kty == "OKP", crv == "Ed25519", let x, let kid, !kid.isEmpty, kid.utf8.count <= 128,
            Base64URL.decode(x)?.count == 32
        else { return nil }
        self.init(x: x, kid: kid)
    }

    /// The keys of a JWKS document a peer publishes: Ed25519 keys with a `kid` and a 32-byte `x`; other
    /// keys are skipped. Throws when the document is not a JWKS or holds no usable key.
    public static func keys(fromJWKS data: Data) throws(ValidationError) -> [PeerKey] {
        struct Document: Decodable {
            struct Key: Decodable {
                var kty: String?
                var crv: String?
                var x: String?
                var kid: String?
            }
            var keys: [Key]
        }
        guard data.count <= 256 * 1024, let document = try? JSONDecoder().decode(Document.self, from: data) else {
            throw ValidationError([FieldError(name: "jwks", reason: "is not a JWK set")])
        }
        let keys = document.keys.prefix(64).compactMap { PeerKey(kty: $0.kty, crv: $0.crv, x: $0.x, kid: $0.kid) }
        guard !keys.isEmpty else {
            throw ValidationError([FieldError(name: "jwks", reason: "holds no Ed25519 key with a kid")])
        }
        return keys
    }
}
