import Hummingbird
import NIOCore
import Synchronization
import TakedownModel

/// Per-request state: the caller, once the bearer token is checked.
public struct GatewayRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var principal: Principal?
    /// The console session the request came with, once its cookie is checked.
    var consoleSession: ConsoleSession?
    /// A console form's fields, read and CSRF-checked before the handler runs.
    var form: ConsoleForm?
    /// The peer's address (without its port), for the request log and per-address limits.
    public let clientAddress: String
    /// Shared by every copy of this request's context, so the request log can name the authenticated actor.
    let note = RequestNote()

    public init(source: Source) {
        coreContext = .init(source: source)
        clientAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
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

    /// An admin, or the partner `id` itself (self-service); 404 to any other partner (it may not learn
    /// that `id` exists) and 403 to an analyst.
    func adminOrSelf(_ id: PartnerID) throws -> Principal {
        let principal = try caller()
        if case .admin = principal { return principal }
        if let own = principal.partnerID {
            guard own == id else { throw APIError.notFound("partner \(id) does not exist") }
            return principal
        }
        throw APIError.forbidden("this needs an admin token or the partner's own")
    }

    /// Staff, or the partner `id` itself; 404 to any other partner.
    func staffOrSelf(_ id: PartnerID) throws -> Principal {
        let principal = try caller()
        guard principal.isStaff || principal.partnerID == id else {
            throw APIError.notFound("partner \(id) does not exist")
        }
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

/// What inner middleware learns about a request that the outer one logs.
final class RequestNote: Sendable {
    private let actorName = Mutex<String?>(nil)

    var actor: String? {
        get { actorName.withLock { $0 } }
        set { actorName.withLock { $0 = newValue } }
    }
}
