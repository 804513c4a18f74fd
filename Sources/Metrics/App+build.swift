import Hummingbird
import SwitchboardCore

/// Composes the metrics service from its configuration.
func buildApplication(_ environment: ServiceEnvironment) async throws -> some ApplicationProtocol {
    let router = buildRouter(environment, discovery: try makeDiscovery(environment))
    return environment.makeApplication(router: router)
}

/// The supervisor when one is configured, else the static list.
func makeDiscovery(_ environment: ServiceEnvironment) throws -> any TargetDiscovery {
    if let url = environment.configuration.optional(.supervisorURL) {
        return SupervisorTargets(client: environment.client(for: url, timeout: .seconds(3)))
    }
    return try StaticTargets(entries: environment.configuration.list(.scrapeTargets))
}

func buildRouter(_ environment: ServiceEnvironment, discovery: any TargetDiscovery) -> Router<ServiceRequestContext> {
    let checks: [any ReadinessCheck] = [
        ReadinessProbe {
            do {
                let targets = try await discovery.targets()
                return DependencyStatus(name: "discovery", state: .up, detail: "\(targets.count) targets from \(discovery.source)")
            } catch {
                return DependencyStatus(name: "discovery", state: .down, detail: "\(discovery.source): \(error)")
            }
        }
    ]
    let router = environment.makeRouter(checks: checks)
    TargetsController(discovery: discovery).addRoutes(to: environment.internalAPI(on: router))
    return router
}
