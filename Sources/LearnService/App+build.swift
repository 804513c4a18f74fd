import Hummingbird
import SwitchboardCore

/// Composes the learn service from its configuration.
func buildApplication(_ environment: ServiceEnvironment) async throws -> some ApplicationProtocol {
    let queue = EventQueue(capacity: environment.configuration.int(.learnQueue))
    let statistics = CallStatistics()
    let router = buildRouter(environment, queue: queue, statistics: statistics)
    return environment.makeApplication(router: router, services: [Learner(queue: queue, statistics: statistics)])
}

func buildRouter(_ environment: ServiceEnvironment, queue: EventQueue, statistics: CallStatistics) -> Router<ServiceRequestContext> {
    let checks: [any ReadinessCheck] = [
        ReadinessProbe {
            let totals = queue.totals
            return DependencyStatus(name: "ingest", state: .up, detail: "queue \(queue.depth), accepted \(totals.accepted), dropped \(totals.dropped)")
        }
    ]
    let router = environment.makeRouter(checks: checks)
    EventsController(queue: queue, statistics: statistics).addRoutes(to: environment.internalAPI(on: router))
    return router
}
