import Hummingbird
import Logging
import SwitchboardCore

/// Composes the gateway from its configuration.
func buildApplication(_ environment: ServiceEnvironment) async throws -> some ApplicationProtocol {
    let parts = try GatewayParts(environment)
    return environment.makeApplication(router: buildRouter(environment, parts: parts), services: [parts.telemetry] + parts.state.services)
}

/// The gateway's collaborators, built once from configuration.
struct GatewayParts: Sendable {
    let backends: ToolBackends
    let telemetry: TelemetryReporter
    let authenticator: any ClientAuthenticator
    let server: MCPServer
    /// Result cache, rate limits and shared state (Redis or in-process).
    let state: GatewayState

    init(_ environment: ServiceEnvironment, authenticator: (any ClientAuthenticator)? = nil) throws {
        let configuration = environment.configuration
        let timeout = configuration.duration(.toolTimeout)
        backends = ToolBackends(source: try makeReplicaSource(environment)) { environment.client(for: $0, timeout: timeout) }
        let learn = configuration.optional(.learnURL).map { environment.client(for: $0, timeout: .seconds(5)) }
        telemetry = TelemetryReporter(client: learn, logger: environment.logger)
        self.authenticator = try authenticator ?? APIKeyAuthenticator(configuration: configuration.list(.apiKeys))
        state = try GatewayState(configuration: configuration, backends: backends, registry: environment.metrics.registry, logger: environment.logger)
        server = MCPServer(backends: backends, telemetry: telemetry, toolTimeout: timeout, limits: state.limits, cache: state.cache)
        if configuration.list(.apiKeys).isEmpty && authenticator == nil {
            environment.logger.warning("no API keys configured (SWITCHBOARD_API_KEYS): every MCP request will get 401")
        }
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
    ] + parts.state.readinessChecks
    let router = environment.makeRouter(checks: checks)
    MCPController(server: parts.server, authenticator: parts.authenticator, maxBodySize: environment.configuration.bytes(.maxBodySize))
        .addRoutes(to: router)
    return router
}
