import Foundation
import TakedownModel
import TakedownStore

/// A token as shown to its owner exactly once.
public struct IssuedToken: Sendable {
    public let record: TokenRecord
    public let secret: String
}

extension Gateway {
    /// The caller behind a bearer secret, or nil for an unknown or revoked token.
    public func authenticate(secret: String) async throws -> Principal? {
        guard secret.hasPrefix("tdk_"), secret.count < 100 else { return nil }
        return try await store.token(secretHash: sha256Hex(Data(secret.utf8)))?.principal
    }

    /// Creates the first admin from `TAKEDOWN_BOOTSTRAP_ADMIN_TOKEN` when the store has none.
    /// Returns whether it did.
    @discardableResult
    public func bootstrapAdmin(secret: String) async throws -> Bool {
        guard try await !store.hasAdmin() else { return false }
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
            secretHash: sha256Hex(Data(secret.utf8)), createdAt: clock())
        try await store.insertToken(record)
        logger.notice("created the bootstrap admin token", metadata: ["token_id": "\(record.id)"])
        return true
    }

    /// A new staff token (admin or analyst).
    public func createStaffToken(role: TokenRole, name: String) async throws -> IssuedToken {
        try await Self.createStaffToken(role: role, name: name, in: store, at: clock())
    }

    public func revokeToken(_ id: TokenID) async throws {
        try await Self.revokeToken(id, in: store, at: clock())
    }

    /// Token work needs only the store, so `takedown tokens` runs without templates or keys.
    public static func createStaffToken(role: TokenRole, name: String, in store: any TokenStore, at now: Date)
        async throws -> IssuedToken
    {
        guard role != .partner else { throw GatewayError.forbidden("partner tokens are made through the partner") }
        var v = Validator()
        let name = v.text(name, "name", max: 100)
        do { try v.check() } catch { throw GatewayError.invalid(error) }
        let issued = newToken(role: role, name: name!, partner: nil, at: now)
        try await store.insertToken(issued.record)
        return issued
    }

    public static func revokeToken(_ id: TokenID, in store: any TokenStore, at now: Date) async throws {
        guard try await store.revokeToken(id, at: now) else { throw GatewayError.notFound("token \(id)") }
    }

    /// 256 random bits, base64url, behind a `tdk_` prefix that secret scanners can match.
    static func newToken(role: TokenRole, name: String, partner: PartnerID?, at now: Date) -> IssuedToken {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let secret = "tdk_" + Base64URL.encode(bytes)
        let record = TokenRecord(
            id: .generate(), role: role, name: name, partnerID: partner, secretHash: sha256Hex(Data(secret.utf8)),
            createdAt: now)
        return IssuedToken(record: record, secret: secret)
    }
}
