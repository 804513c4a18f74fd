import Foundation
import Prometheus
import Synchronization

/// A service's Prometheus registry plus the metrics every service exports: HTTP requests per
/// route, build info and process resource use. Services register their own metrics on `registry`.
public final class ServiceMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let service: String

    /// Buckets for request and call latencies: 100 µs to 60 s.
    public static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
    ]

    private struct RouteKey: Hashable {
        let route: String
        let method: String
        let status: Int
    }

    private struct RouteSeries {
        let requests: Counter
        let errors: Counter
        let duration: DurationHistogram
        let isError: Bool
    }

    private let routes = Mutex<[RouteKey: RouteSeries]>([:])
    private let lastCPUSeconds = Mutex<Double>(0)

    public init(service: String, version: String, replica: Int = 1) {
        self.service = service
        registry = PrometheusCollectorRegistry()
        registry.makeGauge(
            descriptor: .init(namespace: "switchboard", metricName: "build_info", unitName: "", helpText: "Build information; always 1"),
            labels: [("service", service), ("version", version), ("replica", String(replica))]
        ).set(Int64(1))
    }

    /// Records one HTTP request. `route` is the route template, never the raw path.
    public func recordRequest(route: String, method: String, status: Int, duration: Duration) {
        let key = RouteKey(route: route, method: method, status: status)
        let series = routes.withLock { table -> RouteSeries in
            if let existing = table[key] { return existing }
            let labels = [("route", route), ("method", method), ("status", String(status))]
            let created = RouteSeries(
                requests: registry.makeCounter(
                    descriptor: .init(namespace: "switchboard", subsystem: "http", metricName: "requests", unitName: "total", helpText: "HTTP requests served, by route, method and status"),
                    labels: labels
                ),
                // One error series per route (not per status) so that it exists, at 0, before the first error.
                errors: registry.makeCounter(
                    descriptor: .init(namespace: "switchboard", subsystem: "http", metricName: "request_errors", unitName: "total", helpText: "HTTP requests answered with a 5xx status, by route and method"),
                    labels: [("route", route), ("method", method)]
                ),
                duration: registry.makeDurationHistogram(
                    descriptor: .init(namespace: "switchboard", subsystem: "http", metricName: "request_duration", unitName: "seconds", helpText: "Time to produce the response head, by route and method"),
                    labels: [("route", route), ("method", method)],
                    buckets: Self.latencyBuckets
                ),
                isError: status >= 500
            )
            table[key] = created
            return created
        }
        series.requests.increment()
        if series.isError { series.errors.increment() }
        series.duration.record(duration)
    }

    /// The whole exposition: the registry followed by process metrics.
    public func render() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        buffer.append(contentsOf: ProcessStatistics.current().exposition.utf8)
        return buffer
    }
}
