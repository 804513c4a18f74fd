import Hummingbird
import Logging
import ServiceLifecycle
import SwitchboardCore

/// Composes the gateway from its configuration: the HTTP application, or with `--stdio` the stdio transport.
func buildApplication(_ environment: ServiceEnvironment) async throws -> GatewayProcess {
    let parts = try GatewayParts(environment)
    guard environment.configuration.bool(.stdio) else {
        return GatewayProcess(
            service: environment.makeApplication(
                router: buildRouter(environment, parts: parts), services: [parts.telemetry, parts.catalogWatch, parts.policy] + parts.state.services
            )
        )
    }
    let stdio = StdioTransport(
        server: parts.server, catalogWatch: parts.catalogWatch, maxLineSize: environment.configuration.bytes(.maxBodySize), logger: environment.logger
    )
    // When stdin ends the group shuts down gracefully: telemetry is flushed, then the process exits.
    let group = ServiceGroup(
        configuration: ServiceGroupConfiguration(
            services: [
                .init(service: environment.http), .init(service: parts.telemetry), .init(service: parts.catalogWatch), .init(service: parts.policy),
                .init(service: stdio, successTerminationBehavior: .gracefullyShutdownGroup),
            ] + parts.state.services.map { .init(service: $0) },
            logger: environment.logger
        )
    )
    return GatewayProcess(service: group)
}

/// The one service the gateway process runs (either transport).
struct GatewayProcess: Service {
    let service: any Service

    func run() async throws {
        try await service.run()
    }
}

/// The gateway's collaborators, built once from configuration.
struct GatewayParts: Sendable {
    let backends: ToolBackends
    let telemetry: TelemetryReporter
    let authenticator: any ClientAuthenticator
    let metrics: MCPMetrics
    let server: MCPServer
    let catalogWatch: CatalogWatch
    /// Handshake-era tool calls in progress, for `notifications/cancelled`.
    let inFlight = CancellationRegistry()
    /// Result cache, rate limits and shared state (Redis or in-process).
    let state: GatewayState
    /// The learn service's routing weights and cache TTLs, polled.
    let policy: LearnedPolicy

    /// - Parameters:
    ///   - replicas: where tool-service replicas come from (default: `SWITCHBOARD_TOOLS_URL`).
    ///   - catalogTTL: how long a read catalogue is served, and how often open streams look for changes.
    ///   - policyInterval: how often the learn service's policy is polled.
    init(
        _ environment: ServiceEnvironment, authenticator: (any ClientAuthenticator)? = nil, replicas: (any ReplicaSource)? = nil,
        catalogTTL: Duration = .seconds(5), policyInterval: Duration = .seconds(5)
    ) throws {
        let configuration = environment.configuration
        let timeout = configuration.duration(.toolTimeout)
        backends = ToolBackends(
            source: try replicas ?? makeReplicaSource(environment), catalogTTL: catalogTTL, logger: environment.logger
        ) { environment.client(for: $0, timeout: timeout) }
        let learn = configuration.optional(.learnURL).map { environment.client(for: $0, timeout: .seconds(5)) }
        telemetry = TelemetryReporter(client: learn, logger: environment.logger)
        self.authenticator = try authenticator ?? APIKeyAuthenticator(configuration: configuration.list(.apiKeys))
        state = try GatewayState(configuration: configuration, backends: backends, registry: environment.metrics.registry, logger: environment.logger)
        policy = LearnedPolicy(
            client: learn, interval: policyInterval, backends: backends, cache: state.cache, warmer: state.predictive, registry: environment.metrics.registry,
            logger: environment.logger
        )
        metrics = MCPMetrics(registry: environment.metrics.registry)
        server = MCPServer(
            backends: backends, telemetry: telemetry, metrics: metrics, logLevels: SessionLogLevels(), toolTimeout: timeout,
            pageSize: configuration.int(.pageSize), limits: state.limits, cache: state.cache, policy: policy,
            warmer: state.predictive
        )
        catalogWatch = CatalogWatch(backends: backends, interval: catalogTTL)
        if configuration.list(.apiKeys).isEmpty && authenticator == nil && !configuration.bool(.stdio) {
            environment.logger.warning("no API keys configured (SWITCHBOARD_API_KEYS): every MCP request will get 401")
        }
        if environment.secret.isEmpty {
            environment.logger.warning("SWITCHBOARD_SERVICE_SECRET is empty: sessions end with this process and the tool service refuses calls")
        }
    }

    func controller(_ environment: ServiceEnvironment) -> MCPController {
        let configuration = environment.configuration
        return MCPController(
            server: server, authenticator: authenticator,
            origins: OriginPolicy(hosts: configuration.list(.allowedHosts), origins: configuration.list(.allowedOrigins)),
            sessions: SessionSigner(secret: environment.secret, lifetime: configuration.duration(.sessionTTL)),
            inFlight: inFlight, catalogWatch: catalogWatch, metrics: metrics, maxBodySize: configuration.bytes(.maxBodySize)
        )
    }
}

func buildRouter(_ environment: ServiceEnvironment, parts: GatewayParts) -> Router<ServiceRequestContext> {
    let backends = parts.backends
    let checks: [any ReadinessCheck] = [
        ReadinessProbe {
            do {
                let tools = try await backends.tools()
                return DependencyStatus(name: "tools", state: .up, detail: "\(tools.count) tools; \(backends.sourceDescription)")
            } catch let error as ToolRoutingError {
                return DependencyStatus(name: "tools", state: .down, detail: error.message)
            } catch {
                return DependencyStatus(name: "tools", state: .down, detail: "\(error)")
            }
        },
        ReadinessProbe {
            let stats = parts.telemetry.statistics
            return DependencyStatus(name: "learn", state: .up, required: false, detail: "telemetry sent \(stats.sent), dropped \(stats.dropped), failed \(stats.failed)")
        },
        ReadinessProbe { DependencyStatus(name: "policy", state: .up, required: false, detail: parts.policy.summary) },
    ] + parts.state.readinessChecks
    let router = environment.makeRouter(checks: checks)
    let controller = parts.controller(environment)
    controller.addRoutes(to: router)
    LegacySSEController(mcp: controller).addRoutes(to: router)
    return router
}
