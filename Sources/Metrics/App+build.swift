import Foundation
import Hummingbird
import Logging
import SwitchboardCore

/// Composes the metrics service from its configuration.
func buildApplication(_ environment: ServiceEnvironment) async throws -> some ApplicationProtocol {
    let parts = try MonitoringParts(environment)
    return environment.makeApplication(router: buildRouter(environment, parts: parts), services: [parts.scraper, parts.alerts])
}

/// The monitoring hub's collaborators, built once from configuration.
struct MonitoringParts: Sendable {
    let discovery: any TargetDiscovery
    let store: SeriesStore
    let scraper: Scraper
    let alerts: AlertEvaluator
    let dashboard: DashboardDefinition?
    let clock: @Sendable () -> Double

    init(_ environment: ServiceEnvironment, clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) throws {
        let configuration = environment.configuration
        self.clock = clock
        discovery = try makeDiscovery(environment)
        let interval = configuration.duration(.scrapeInterval)
        let retention = configuration.duration(.history).seconds
        store = SeriesStore(retention: retention, pointsPerSeries: max(2, Int(retention / max(interval.seconds, 0.1)) + 1))
        scraper = Scraper(
            discovery: discovery, store: store, http: environment.http, metrics: environment.metrics, logger: environment.logger, interval: interval,
            clock: clock
        )
        var rules: [AlertRule] = []
        if let path = configuration.optional(.alertRules) {
            if FileManager.default.fileExists(atPath: path) {
                rules = try AlertRule.load(path: path)
            } else {
                environment.logger.warning("alert rules file \(path) not found: no alerts are evaluated")
            }
        }
        let webhooks = configuration.list(.alertWebhooks)
        let notifier = webhooks.isEmpty ? nil : try WebhookNotifier(entries: webhooks, http: environment.http, metrics: environment.metrics, logger: environment.logger)
        alerts = AlertEvaluator(
            rules: rules, store: store, notifier: notifier, metrics: environment.metrics, logger: environment.logger,
            interval: configuration.duration(.alertInterval), clock: clock
        )
        if let path = configuration.optional(.dashboardFile), FileManager.default.fileExists(atPath: path) {
            dashboard = try DashboardDefinition.load(path: path)
        } else {
            dashboard = nil
        }
    }
}

/// The supervisor when one is configured, else Swarm DNS, else the static list.
func makeDiscovery(_ environment: ServiceEnvironment) throws -> any TargetDiscovery {
    if let url = environment.configuration.optional(.supervisorURL) {
        return SupervisorTargets(client: environment.client(for: url, timeout: .seconds(3)))
    }
    let dns = environment.configuration.list(.scrapeDNS)
    if !dns.isEmpty { return try DNSTargets(entries: dns) }
    return try StaticTargets(entries: environment.configuration.list(.scrapeTargets))
}

func buildRouter(_ environment: ServiceEnvironment, parts: MonitoringParts) -> Router<ServiceRequestContext> {
    let checks: [any ReadinessCheck] = [
        ReadinessProbe {
            do {
                let targets = try await parts.discovery.targets()
                return DependencyStatus(name: "discovery", state: .up, detail: "\(targets.count) targets from \(parts.discovery.source)")
            } catch {
                return DependencyStatus(name: "discovery", state: .down, detail: "\(parts.discovery.source): \(error)")
            }
        },
        ReadinessProbe {
            let counts = parts.store.counts
            let errors = parts.alerts.ruleErrors
            return DependencyStatus(
                name: "alerts", state: errors.isEmpty ? .up : .degraded, required: false,
                detail: "\(parts.alerts.rules.count) rules, \(counts.series) series held\(errors.isEmpty ? "" : "; failing rules: \(errors.keys.sorted().joined(separator: ", "))")"
            )
        },
    ]
    let router = environment.makeRouter(checks: checks)
    let internalAPI = environment.internalAPI(on: router)
    TargetsController(discovery: parts.discovery).addRoutes(to: router, internal: internalAPI)
    MonitorController(store: parts.store, scraper: parts.scraper, alerts: parts.alerts, dashboard: parts.dashboard, clock: parts.clock)
        .addRoutes(to: router, internal: internalAPI)
    return router
}
