import HTTPTypes
import Hummingbird

/// Guards the internal `/v1` APIs: a caller must present the suite's service secret as
/// `Authorization: Bearer <secret>`. A client's own credential is never accepted here.
public struct ServiceAuthMiddleware: RouterMiddleware {
    public typealias Context = ServiceRequestContext
    private let secret: [UInt8]

    /// An empty secret refuses every request: the API stays locked until a secret is configured.
    public init(secret: String) {
        self.secret = Array(secret.utf8)
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !secret.isEmpty else {
            throw ServiceError(.unauthorized, "the /v1 API is locked: SWITCHBOARD_SERVICE_SECRET is not set")
        }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            Digest.constantTimeEquals(Array(header.utf8.dropFirst(7)), secret)
        else {
            throw ServiceError(.unauthorized, "missing or wrong service credential")
        }
        var context = context
        context.principal = request.headers[.switchboardPrincipal]
        return try await next(request, context)
    }
}
