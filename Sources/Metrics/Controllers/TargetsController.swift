import Hummingbird
import SwitchboardCore

/// Every replica to scrape: `GET /v1/targets` (JSON, service secret required) and `GET /targets.json`
/// (Prometheus HTTP service discovery: `[{"targets":["host:port"],"labels":{"service":"…","replica":"1"}}]`,
/// unauthenticated so that Prometheus's `http_sd_configs` can read it).
struct TargetsController: Sendable {
    let discovery: any TargetDiscovery

    func addRoutes(to router: Router<ServiceRequestContext>, internal group: RouterGroup<ServiceRequestContext>) {
        group.get("targets") { _, _ in
            let targets = try await current()
            return Response.json(["source": .string(discovery.source), "targets": .array(targets.map(\.json))])
        }
        router.get("targets.json") { _, _ in
            Response.json(.array(try await current().map { target in
                ["targets": [.string(target.address)], "labels": ["service": .string(target.service), "replica": .string(String(target.replica))]]
            }))
        }
    }

    private func current() async throws -> [ScrapeTarget] {
        do {
            return try await discovery.targets()
        } catch {
            throw ServiceError(.unavailable, "cannot list targets from \(discovery.source): \(error)")
        }
    }
}
