import Foundation
import TakedownModel
import TakedownStore

/// A token as shown to its owner exactly once.
public struct IssuedToken: Sendable {
    public let record: TokenRecord
    public let secret: String
}

extension TokenDesk {
    /// The caller behind a bearer secret at this moment, or nil for a token that is unknown, revoked or
    /// expired, or whose partner is suspended. Notes the use when the stored time is a minute old or more,
    /// so a busy token costs one write a minute, not one per request.
    public func authenticate(secret: String) async throws -> Principal? {
        guard secret.hasPrefix("tdk_"), secret.count < 100 else { return nil }
        guard let credential = try await store.credential(secretHash: sha256Hex(Data(secret.utf8))) else {
            return nil
        }
        let now = clock()
        guard let principal = credential.principal(at: now) else { return nil }
        if credential.token.needsUseRecorded(at: now) {
            do {
                try await store.recordTokenUse(
                    credential.token.id, at: now, staleBefore: now.addingTimeInterval(-TokenRecord.useRecordingInterval)
                )
            } catch {
                // The request is authenticated all the same; the next one tries again.
                logger.warning(
                    "could not record a token's use",
                    metadata: ["token_id": "\(credential.token.id)", "error": "\(error)"])
            }
        }
        return principal
    }

    /// Creates the first admin from `TAKEDOWN_BOOTSTRAP_ADMIN_TOKEN` when no live admin token exists.
    /// Returns whether it did. A restart with the setting still in place never fails: with an admin the value
    /// is not even read; a secret revoked (or expired) since is not brought back, only logged; instances
    /// starting together on one database insert it once.
    @discardableResult
    public func bootstrapAdmin(secret: String) async throws -> Bool {
        let now = clock()
        guard try await !store.hasAdmin(at: now) else { return false }
        // Only `tdk_` tokens authenticate; a bootstrap token without the prefix would lock the admin out.
        guard secret.count >= 32, secret.count < 100, secret.hasPrefix("tdk_") else {
            throw GatewayError.invalid(
                ValidationError([
                    FieldError(
                        name: "TAKEDOWN_BOOTSTRAP_ADMIN_TOKEN",
                        reason: "must start with tdk_ and be 32 to 99 characters")
                ]))
        }
        let record = TokenRecord(
            id: .generate(), role: .admin, name: "bootstrap", partnerID: nil,
            secretHash: sha256Hex(Data(secret.utf8)), createdAt: now)
        switch try await store.insertBootstrapAdmin(record, now: now) {
        case .created:
            logger.notice("created the bootstrap admin token", metadata: ["token_id": "\(record.id)"])
            return true
        case .adminExists:
            return false
        case .secretUsed:
            logger.warning(
                """
                TAKEDOWN_BOOTSTRAP_ADMIN_TOKEN names a token that was revoked or has expired; it is not brought \
                back and no admin token works: create one with `takedown tokens create --role admin --name …`, \
                then unset the setting
                """)
            return false
        }
    }

    /// A new staff token (admin or analyst), valid until `expiresAt` when given.
    public func createStaffToken(role: TokenRole, name: String, expiresAt: Date? = nil) async throws -> IssuedToken {
        try await Self.createStaffToken(role: role, name: name, expiresAt: expiresAt, in: store, at: clock())
    }

    /// Another token for a partner, valid until `expiresAt` when given; earlier ones stay valid until revoked.
    public func createPartnerToken(_ id: PartnerID, name: String?, expiresAt: Date? = nil) async throws
        -> IssuedToken
    {
        let partner = try await gateway.partnerDesk.partner(id)
        let now = clock()
        var v = Validator()
        let checked = name == nil ? "\(partner.name) token" : v.text(name, "name", max: 100)
        Self.checkExpiry(expiresAt, after: now, &v)
        do { try v.check() } catch { throw GatewayError.invalid(error) }
        let token = Self.newToken(role: .partner, name: checked!, partner: id, expiresAt: expiresAt, at: now)
        try await store.insertToken(token.record)
        return token
    }

    public func revokeToken(_ id: TokenID) async throws {
        try await Self.revokeToken(id, in: store, at: clock())
    }

    /// A page of tokens in creation order (revoked and expired ones too), optionally one partner's, and
    /// the cursor after it. Records carry hashes: callers show only what `TokenRecord` allows them to.
    public func tokens(after cursor: String?, limit: Int, partner: PartnerID?) async throws -> (
        [TokenRecord], nextCursor: String
    ) {
        let after = try Gateway.position(after: cursor)
        if let partner { _ = try await gateway.partnerDesk.partner(partner) }
        let rows = try await store.tokens(after: after, limit: limit, partner: partner)
        return (rows.map(\.token), Cursor.encode(rows.last?.position ?? after))
    }

    /// Token work needs only the store, so `takedown tokens` runs without templates or keys.
    public static func createStaffToken(
        role: TokenRole, name: String, expiresAt: Date? = nil, in store: any TokenStore, at now: Date
    ) async throws -> IssuedToken {
        guard role != .partner else { throw GatewayError.forbidden("partner tokens are made through the partner") }
        var v = Validator()
        let name = v.text(name, "name", max: 100)
        checkExpiry(expiresAt, after: now, &v)
        do { try v.check() } catch { throw GatewayError.invalid(error) }
        let issued = newToken(role: role, name: name!, partner: nil, expiresAt: expiresAt, at: now)
        try await store.insertToken(issued.record)
        return issued
    }

    public static func revokeToken(_ id: TokenID, in store: any TokenStore, at now: Date) async throws {
        guard try await store.revokeToken(id, at: now) else { throw GatewayError.notFound("token \(id)") }
    }

    /// An expiry must lie ahead: a token born expired is a mistake, not a request.
    static func checkExpiry(_ expiresAt: Date?, after now: Date, _ v: inout Validator) {
        if let expiresAt, expiresAt <= now { v.fail("expires_at", "must be in the future") }
    }

    /// 256 random bits, base64url, behind a `tdk_` prefix that secret scanners can match.
    static func newToken(
        role: TokenRole, name: String, partner: PartnerID?, expiresAt: Date? = nil, at now: Date
    ) -> IssuedToken {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let secret = "tdk_" + Base64URL.encode(bytes)
        let record = TokenRecord(
            id: .generate(), role: role, name: name, partnerID: partner, secretHash: sha256Hex(Data(secret.utf8)),
            createdAt: now, expiresAt: expiresAt)
        return IssuedToken(record: record, secret: secret)
    }
}
