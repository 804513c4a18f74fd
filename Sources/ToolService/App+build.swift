import Hummingbird
import SwitchboardCore

/// Composes the tool service from its configuration.
func buildApplication(_ environment: ServiceEnvironment) async throws -> some ApplicationProtocol {
    let catalog = ToolCatalog.standard(
        workspace: environment.configuration.string(.workspace), conformanceFixtures: environment.configuration.bool(.conformanceFixtures)
    )
    let router = buildRouter(environment, catalog: catalog)
    return environment.makeApplication(router: router)
}

func buildRouter(_ environment: ServiceEnvironment, catalog: ToolCatalog) -> Router<ServiceRequestContext> {
    let checks: [any ReadinessCheck] = [
        ReadinessProbe { DependencyStatus(name: "catalog", state: .up, detail: "\(catalog.names.count) tools, revision \(catalog.revision)") }
    ]
    let router = environment.makeRouter(checks: checks)
    let controller = ToolController(catalog: catalog, metrics: ToolMetrics(registry: environment.metrics.registry))
    controller.addRoutes(to: environment.internalAPI(on: router))
    return router
}
