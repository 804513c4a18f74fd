import Logging
import Prometheus
import Hummingbird
import SwitchboardCore

/// Composes the learn service from its configuration.
func buildApplication(_ environment: ServiceEnvironment) async throws -> some ApplicationProtocol {
    let learner = try await makeLearner(environment)
    let router = buildRouter(environment, learner: learner)
    return environment.makeApplication(router: router, services: [learner])
}

/// The learner with its queue, model store and metrics, as configured; restores the newest kept model version.
func makeLearner(_ environment: ServiceEnvironment) async throws -> Learner {
    let configuration = environment.configuration
    var settings = Learner.Settings()
    settings.models.probation = configuration.int(.learnProbation)
    settings.models.maxSeries = configuration.int(.learnMaxSeries)
    settings.models.bucketSeconds = max(1, configuration.duration(.learnForecastBucket).seconds)
    settings.checkpointInterval = configuration.duration(.learnCheckpointInterval)
    settings.publishInterval = max(.milliseconds(10), configuration.duration(.learnPublishInterval))
    let metrics = LearnMetrics(environment.metrics)
    let logger = environment.logger
    let postgres = try configuration.optional(.learnPostgresURL).map { url throws(ConfigurationError) in try PostgresCheckpoints(url: url) }
    let store = try ModelStore(directory: configuration.string(.learnStateDirectory), keep: configuration.int(.learnCheckpointsKept), postgres: postgres) {
        metrics.postgresFailures.increment()
        logger.error("PostgreSQL checkpoint failure", metadata: ["error": .string($0)])
    }
    let restored = await store.synchronize()
    if !restored.isEmpty { logger.notice("restored model versions from PostgreSQL", metadata: ["versions": .string(restored.map(String.init).joined(separator: ","))]) }
    return await Learner(
        queue: EventQueue(capacity: configuration.int(.learnQueue)), store: store, metrics: metrics, settings: settings, logger: logger
    )
}

func buildRouter(_ environment: ServiceEnvironment, learner: Learner) -> Router<ServiceRequestContext> {
    let queue = learner.queue
    let checks: [any ReadinessCheck] = [
        ReadinessProbe {
            let totals = queue.totals
            return DependencyStatus(name: "ingest", state: .up, detail: "queue \(queue.depth), accepted \(totals.accepted), dropped \(totals.dropped)")
        }
    ]
    let router = environment.makeRouter(checks: checks + postgresCheck(learner.store.postgres))
    let api = environment.internalAPI(on: router)
    EventsController(queue: queue, learner: learner).addRoutes(to: api)
    PolicyController(learner: learner).addRoutes(to: api)
    ModelsController(learner: learner).addRoutes(to: api)
    PredictionController(learner: learner).addRoutes(to: api)
    ExperimentsController(learner: learner).addRoutes(to: api)
    ResourcesController(learner: learner).addRoutes(to: api)
    return router
}

/// `/ready` reports PostgreSQL (optional: checkpoints still go to disk without it) when configured.
private func postgresCheck(_ postgres: PostgresCheckpoints?) -> [any ReadinessCheck] {
    guard let postgres else { return [] }
    return [
        ReadinessProbe {
            let health = postgres.status
            return DependencyStatus(name: "postgres", state: health.up ? .up : .down, required: false, detail: health.detail)
        }
    ]
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
