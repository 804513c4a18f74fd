import Foundation
import HTTPTypes
import Hummingbird

/// The state of one thing a service depends on, as shown by `GET /ready`.
public struct DependencyStatus: Sendable {
    public enum State: String, Sendable {
        case up, down, degraded
        /// Not configured; the service runs without it (e.g. in-process fallback).
        case disabled
    }

    public let name: String
    public let state: State
    /// Whether the service is unready while this dependency is down.
    public let required: Bool
    public let detail: String

    public init(name: String, state: State, required: Bool = true, detail: String = "") {
        self.name = name
        self.state = state
        self.required = required
        self.detail = detail
    }
}

/// Something `/ready` asks about.
public protocol ReadinessCheck: Sendable {
    func status() async -> DependencyStatus
}

/// A readiness check from a closure.
public struct ReadinessProbe: ReadinessCheck {
    private let probe: @Sendable () async -> DependencyStatus
    public init(_ probe: @escaping @Sendable () async -> DependencyStatus) { self.probe = probe }
    public func status() async -> DependencyStatus { await probe() }
}

/// `GET /health` (liveness and version), `GET /ready` (each dependency's state; 503 when a required one is down)
/// and `GET /metrics` (Prometheus text), served by every service without authentication.
public struct HealthController: Sendable {
    let identity: ServiceIdentity
    let metrics: ServiceMetrics
    let checks: [any ReadinessCheck]
    let started = Date()

    public init(identity: ServiceIdentity, metrics: ServiceMetrics, checks: [any ReadinessCheck]) {
        self.identity = identity
        self.metrics = metrics
        self.checks = checks
    }

    public var endpoints: RouteCollection<ServiceRequestContext> {
        let routes = RouteCollection(context: ServiceRequestContext.self)
        routes.get("health") { _, _ in
            var writer = JSONWriter()
            writer.raw("{\"status\":\"ok\"")
            writer.key("service")
            writer.string(identity.service)
            writer.key("version")
            writer.string(identity.version)
            writer.key("replica")
            writer.int(identity.replica)
            writer.key("pid")
            writer.int(getpid())
            writer.key("uptime_seconds")
            writer.double((Date().timeIntervalSince(started) * 1000).rounded() / 1000)
            writer.raw("}")
            return Response.json(writer.bytes)
        }
        routes.get("ready") { _, _ in
            var statuses: [DependencyStatus] = []
            for check in checks { statuses.append(await check.status()) }
            let ready = statuses.allSatisfy { !$0.required || $0.state == .up || $0.state == .degraded || $0.state == .disabled }
            var writer = JSONWriter()
            writer.raw("{\"ready\":")
            writer.bool(ready)
            writer.key("service")
            writer.string(identity.service)
            writer.key("version")
            writer.string(identity.version)
            writer.key("dependencies")
            writer.raw("[")
            for (index, status) in statuses.enumerated() {
                if index > 0 { writer.raw(",") }
                writer.raw("{\"name\":")
                writer.string(status.name)
                writer.key("state")
                writer.string(status.state.rawValue)
                writer.key("required")
                writer.bool(status.required)
                writer.key("detail")
                writer.string(status.detail)
                writer.raw("}")
            }
            writer.raw("]}")
            return Response.json(writer.bytes, status: ready ? .ok : .serviceUnavailable)
        }
        routes.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.render()))
            )
        }
        return routes
    }
}
