import HTTPTypes
import Hummingbird

/// The request context of every Switchboard service.
public struct ServiceRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// `X-Request-ID` of this request (accepted from the caller or generated).
    public var requestID: String = ""
    /// Who the request acts for: the authenticated client at the gateway, or the principal the
    /// gateway named in `X-Switchboard-Principal` on an internal call.
    public var principal: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}

extension HTTPField.Name {
    public static let requestID = HTTPField.Name("X-Request-ID")!
    public static let switchboardPrincipal = HTTPField.Name("X-Switchboard-Principal")!
}
