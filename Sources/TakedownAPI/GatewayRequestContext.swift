import Hummingbird
import TakedownModel

/// Per-request state: the caller, once the bearer token is checked.
public struct GatewayRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var principal: Principal?

    public init(source: Source) {
        coreContext = .init(source: source)
    }

    /// The authenticated caller, or 401.
    func caller() throws -> Principal {
        guard let principal else { throw APIError.unauthorized }
        return principal
    }

    /// An admin, or 403.
    func admin() throws -> Principal {
        let principal = try caller()
        guard case .admin = principal else { throw APIError.forbidden("this needs an admin token") }
        return principal
    }

    /// An analyst or admin, or 403.
    func staff() throws -> Principal {
        let principal = try caller()
        guard principal.isStaff else { throw APIError.forbidden("this needs a staff token") }
        return principal
    }

    /// A partner, or 403.
    func partner() throws -> (Principal, PartnerID) {
        let principal = try caller()
        guard let id = principal.partnerID else { throw APIError.forbidden("this needs a partner token") }
        return (principal, id)
    }
}
