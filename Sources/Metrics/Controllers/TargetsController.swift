import Hummingbird
import SwitchboardCore

/// `GET /v1/targets`: every replica to scrape. `?format=prometheus` gives Prometheus HTTP service
/// discovery JSON (`[{"targets":["host:port"],"labels":{"service":"…","replica":"1"}}]`).
struct TargetsController: Sendable {
    let discovery: any TargetDiscovery

    func addRoutes(to group: RouterGroup<ServiceRequestContext>) {
        group.get("targets") { request, _ in
            let targets: [ScrapeTarget]
            do {
                targets = try await discovery.targets()
            } catch {
                throw ServiceError(.unavailable, "cannot list targets from \(discovery.source): \(error)")
            }
            if request.uri.queryParameters.get("format") == "prometheus" {
                return Response.json(.array(targets.map { target in
                    ["targets": [.string(target.address)], "labels": ["service": .string(target.service), "replica": .string(String(target.replica))]]
                }))
            }
            return Response.json(["source": .string(discovery.source), "targets": .array(targets.map(\.json))])
        }
    }
}
