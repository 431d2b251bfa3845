import Foundation

/// `POST /v1/partners` and `PATCH /v1/partners/{id}` as sent, before any check.
public struct PartnerInput: Codable, Sendable {
    public struct RoutingInput: Codable, Sendable {
        public var domains: [String]?
        public var ipRanges: [String]?
        public var asns: [Int]?
        /// A hotline's hosting countries (ISO 3166-1 alpha-2).
        public var countries: [String]?

        public init(domains: [String]? = nil, ipRanges: [String]? = nil, asns: [Int]? = nil, countries: [String]? = nil)
        {
            self.domains = domains
            self.ipRanges = ipRanges
            self.asns = asns
            self.countries = countries
        }
    }

    /// A peer hotline's gateway: its base URL, its JWKS (fetched from `{base_url}/.well-known/jwks.json`
    /// when not given) and whether its referrals are accepted at once. An empty `base_url` removes it.
    public struct GatewayInput: Codable, Sendable {
        public struct KeySet: Codable, Sendable {
            public struct Key: Codable, Sendable {
                public var kty: String?
                public var crv: String?
                public var x: String?
                public var kid: String?
            }
            public var keys: [Key]
        }

        public var baseUrl: String?
        public var jwks: KeySet?
        public var trusted: Bool?

        public init(baseUrl: String? = nil, jwks: KeySet? = nil, trusted: Bool? = nil) {
            self.baseUrl = baseUrl
            self.jwks = jwks
            self.trusted = trusted
        }
    }

    public struct DeliveryInput: Codable, Sendable {
        public var webhookUrl: String?
        public var email: String?
        public var gateway: GatewayInput?

        public init(webhookUrl: String? = nil, email: String? = nil, gateway: GatewayInput? = nil) {
            self.webhookUrl = webhookUrl
            self.email = email
            self.gateway = gateway
        }
    }

    public var name: String?
    public var kind: String?
    public var contactEmail: String?
    public var locale: String?
    public var jurisdiction: String?
    public var routing: RoutingInput?
    public var delivery: DeliveryInput?
    /// A policy id; `sla_default` or an empty string returns the partner to the default policy.
    public var slaPolicyId: String?

    public init(
        name: String? = nil, kind: String? = nil, contactEmail: String? = nil, locale: String? = nil,
        jurisdiction: String? = nil, routing: RoutingInput? = nil, delivery: DeliveryInput? = nil,
        slaPolicyId: String? = nil
    ) {
        self.name = name
        self.kind = kind
        self.contactEmail = contactEmail
        self.locale = locale
        self.jurisdiction = jurisdiction
        self.routing = routing
        self.delivery = delivery
        self.slaPolicyId = slaPolicyId
    }

    /// A new partner from a complete input.
    public func created(id: PartnerID, at now: Date) throws(ValidationError) -> Partner {
        var v = Validator()
        _ = v.require(name, "name")
        _ = v.require(kind, "kind")
        _ = v.require(contactEmail, "contact_email")
        _ = v.require(jurisdiction, "jurisdiction")
        try v.check()
        let blank = Partner(
            id: id, name: "", kind: .hostingProvider, contactEmail: "", locale: "en", jurisdiction: "",
            routing: RoutingRules(), delivery: DeliveryChannels(), createdAt: now, updatedAt: now)
        return try applied(to: blank, at: now)
    }

    /// The partner with every field this input names replaced, checked as a whole.
    public func applied(to partner: Partner, at now: Date) throws(ValidationError) -> Partner {
        var v = Validator()
        var result = partner
        if name != nil, let name = v.text(name, "name", max: 200) { result.name = name }
        if kind != nil, let kind: PartnerKind = v.choice(kind, "kind") { result.kind = kind }
        if let contactEmail {
            if Syntax.isEmail(contactEmail) {
                result.contactEmail = contactEmail
            } else {
                v.fail("contact_email", "must be an email address")
            }
        }
        if let locale {
            if Syntax.isLocale(locale) {
                result.locale = locale
            } else {
                v.fail("locale", "must be a language tag such as en, de or fr-CA")
            }
        }
        if let jurisdiction {
            if Syntax.isCountryCode(jurisdiction) {
                result.jurisdiction = jurisdiction.uppercased()
            } else {
                v.fail("jurisdiction", "must be an ISO 3166-1 alpha-2 country code")
            }
        }
        if let routing { result.routing = routing.validated(over: result.routing, into: &v) }
        if let delivery {
            if let url = delivery.webhookUrl {
                if url.isEmpty {
                    result.delivery.webhookUrl = nil
                } else if let parsed = WebURL(url), !parsed.hasCredentials {
                    result.delivery.webhookUrl = parsed.href
                } else if WebURL(url) != nil {
                    // Credentials in a URL end up echoed and logged; the signing secret authenticates us.
                    v.fail("delivery.webhook_url", "must not carry a user name or password")
                } else {
                    v.fail("delivery.webhook_url", "must be an absolute http or https URL")
                }
            }
            if let email = delivery.email {
                if email.isEmpty {
                    result.delivery.email = nil
                } else if Syntax.isEmail(email) {
                    result.delivery.email = email
                } else {
                    v.fail("delivery.email", "must be an email address")
                }
            }
            if let gateway = delivery.gateway {
                result.delivery.gateway = gateway.validated(over: result.delivery.gateway, at: now, into: &v)
            }
        }
        if result.kind != .hotline, result.delivery.gateway != nil, delivery?.gateway != nil {
            v.fail("delivery.gateway", "only a hotline partner has a gateway")
        }
        if result.kind != .hotline, routing?.countries?.isEmpty == false {
            v.fail("routing.countries", "only a hotline partner covers countries")
        }
        if let slaPolicyId {
            if slaPolicyId.isEmpty {
                result.slaPolicyId = .standard
            } else if let id = SLAPolicyID.parsePolicy(slaPolicyId) {
                result.slaPolicyId = id
            } else {
                v.fail("sla_policy_id", "must be an SLA policy id (sla_…)")
            }
        }
        try v.check()
        result.updatedAt = now
        return result
    }
}

extension PartnerInput.RoutingInput {
    func validated(over current: RoutingRules, into v: inout Validator) -> RoutingRules {
        var rules = current
        if let domains {
            rules.domains = []
            for (index, domain) in domains.enumerated() {
                if let name = Syntax.asciiDomain(domain) {
                    rules.domains.append(name)
                } else {
                    v.fail("routing.domains[\(index)]", "must be a domain name")
                }
            }
        }
        if let ipRanges {
            rules.ipRanges = []
            for (index, text) in ipRanges.enumerated() {
                if let range = IPRange(text) {
                    rules.ipRanges.append(range.description)
                } else {
                    v.fail("routing.ip_ranges[\(index)]", "must be an IP address or CIDR range")
                }
            }
        }
        if let asns {
            for (index, asn) in asns.enumerated() where !(1...4_294_967_295).contains(asn) {
                v.fail("routing.asns[\(index)]", "must be an AS number between 1 and 4294967295")
            }
            rules.asns = asns
        }
        if let countries {
            rules.countries = []
            for (index, code) in countries.enumerated() {
                if Syntax.isCountryCode(code) {
                    if !rules.countries.contains(code.uppercased()) { rules.countries.append(code.uppercased()) }
                } else {
                    v.fail("routing.countries[\(index)]", "must be an ISO 3166-1 alpha-2 country code")
                }
            }
        }
        return rules
    }
}

extension PartnerInput.GatewayInput {
    /// The peer gateway this input describes over the current one. Keys given are pinned now; a new base
    /// URL without keys leaves them empty, for the gateway to fetch before the partner is written.
    func validated(over current: PeerGateway?, at now: Date, into v: inout Validator) -> PeerGateway? {
        var peer = current
        if let baseUrl {
            if baseUrl.isEmpty { return nil }
            guard let parsed = WebURL(baseUrl), !parsed.hasCredentials, !baseUrl.contains("?"), !baseUrl.contains("#")
            else {
                v.fail(
                    "delivery.gateway.base_url", "must be an absolute http or https URL without query or credentials")
                return current
            }
            let normalised = parsed.href.hasSuffix("/") ? String(parsed.href.dropLast()) : parsed.href
            if peer?.baseUrl != normalised {
                peer = PeerGateway(baseUrl: normalised, keys: [], keysPinnedAt: now, trusted: peer?.trusted ?? false)
            }
        }
        guard var result = peer else {
            v.fail("delivery.gateway.base_url", "is required")
            return nil
        }
        if let jwks {
            let keys = jwks.keys.prefix(64).compactMap { PeerKey(kty: $0.kty, crv: $0.crv, x: $0.x, kid: $0.kid) }
            if keys.isEmpty {
                v.fail("delivery.gateway.jwks", "holds no Ed25519 key with a kid")
            } else {
                result.keys = keys
                result.keysPinnedAt = now
            }
        }
        if let trusted { result.trusted = trusted }
        return result
    }
}
