import Foundation
import TakedownModel
import TakedownService

/// A new token with its secret: the only answer that ever carries it.
struct TokenCreated: Encodable {
    var id: TokenID
    var partnerId: PartnerID?
    var name: String
    var role: TokenRole
    var token: String
    var createdAt: Date
    var expiresAt: Date?

    init(_ issued: IssuedToken) {
        id = issued.record.id
        partnerId = issued.record.partnerID
        name = issued.record.name
        role = issued.record.role
        token = issued.secret
        createdAt = issued.record.createdAt
        expiresAt = issued.record.expiresAt
    }
}
