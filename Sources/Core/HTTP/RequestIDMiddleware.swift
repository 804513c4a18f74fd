import HTTPTypes
import Hummingbird
import Logging

/// Accepts the caller's `X-Request-ID` (or makes one), binds it to the task-local ``RequestID/current``
/// (for downstream calls and log lines, see ``JSONLogHandler``), and echoes it in the response.
public struct RequestIDMiddleware: RouterMiddleware {
    public typealias Context = ServiceRequestContext

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let supplied = request.headers[.requestID].map { Substring($0) }
        let id = supplied.flatMap { RequestID.isValid($0) ? String($0) : nil } ?? RequestID.generate()
        context.requestID = id
        do {
            var response = try await RequestID.$current.withValue(id) {
                try await next(request, context)
            }
            response.headers[.requestID] = id
            return response
        } catch let error as any HTTPResponseError {
            var response = try error.response(from: request, context: context)
            response.headers[.requestID] = id
            return response
        }
    }
}
