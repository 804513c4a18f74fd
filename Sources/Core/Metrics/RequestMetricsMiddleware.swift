import HTTPTypes
import Hummingbird

/// Counts every request and records its latency per route template and status.
public struct RequestMetricsMiddleware: RouterMiddleware {
    public typealias Context = ServiceRequestContext
    private let metrics: ServiceMetrics

    public init(metrics: ServiceMetrics) {
        self.metrics = metrics
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        metrics.requestStarted()
        defer { metrics.requestEnded() }
        do {
            let response = try await next(request, context)
            metrics.recordRequest(
                route: context.endpointPath ?? "NotFound", method: request.method.rawValue, status: response.status.code,
                duration: ContinuousClock.now - start
            )
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.recordRequest(
                route: context.endpointPath ?? "NotFound", method: request.method.rawValue, status: status, duration: ContinuousClock.now - start
            )
            throw error
        }
    }
}
