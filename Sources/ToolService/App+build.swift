import Foundation
import Hummingbird
import SwitchboardCore

/// Composes the tool service from its configuration.
func buildApplication(_ environment: ServiceEnvironment) async throws -> some ApplicationProtocol {
    let metrics = ToolMetrics(registry: environment.metrics.registry)
    let runtime = try ToolRuntime(toolSettings(environment.configuration), metrics: metrics, logger: environment.logger)
    let catalog = ToolCatalog.standard(conformanceFixtures: environment.configuration.bool(.conformanceFixtures))
    let router = buildRouter(environment, catalog: catalog, runtime: runtime)
    return environment.makeApplication(router: router, services: [PolicyWatcher(store: runtime.policies), ToolRuntimeService(runtime: runtime)])
}

/// The runtime settings from `SWITCHBOARD_WORKSPACE`, `SWITCHBOARD_POLICY_FILE` and the audit keys.
func toolSettings(_ configuration: ServiceConfiguration) -> ToolRuntime.Settings {
    let replica = configuration.int(.replica)
    var audit = configuration.string(.auditLog).replacingOccurrences(of: "{replica}", with: String(replica))
    if audit == "~" || audit.hasPrefix("~/") { audit = (ProcessInfo.processInfo.environment["HOME"] ?? "/root") + audit.dropFirst() }
    return ToolRuntime.Settings(
        workspace: configuration.string(.workspace), policyFile: configuration.optional(.policyFile), auditLog: audit,
        auditMaxSize: configuration.bytes(.auditMaxSize), replica: replica
    )
}

func buildRouter(_ environment: ServiceEnvironment, catalog: ToolCatalog, runtime: ToolRuntime) -> Router<ServiceRequestContext> {
    let checks: [any ReadinessCheck] = [
        ReadinessProbe { DependencyStatus(name: "catalog", state: .up, detail: "\(catalog.names.count) tools, revision \(catalog.revision)") }
    ] + runtime.readinessChecks
    let router = environment.makeRouter(checks: checks)
    let controller = ToolController(catalog: catalog, invoker: ToolInvoker(catalog: catalog, runtime: runtime, logger: environment.logger))
    controller.addRoutes(to: environment.internalAPI(on: router))
    return router
}

/// A router with a runtime made from the environment's configuration, for embedding the tool service
/// in another process's tests (the gateway's). Background processes are not ended at shutdown.
func buildRouter(_ environment: ServiceEnvironment, catalog: ToolCatalog) throws -> Router<ServiceRequestContext> {
    let metrics = ToolMetrics(registry: environment.metrics.registry)
    let runtime = try ToolRuntime(toolSettings(environment.configuration), metrics: metrics, logger: environment.logger)
    return buildRouter(environment, catalog: catalog, runtime: runtime)
}
