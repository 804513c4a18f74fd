import Foundation
import Hummingbird
import SwitchboardCore

/// The supervisor's control API under `/v1` (loopback only, service secret required):
/// `GET /v1/status`, `GET /v1/replicas`, `POST /v1/shutdown`.
struct ControlController: Sendable {
    let stack: Stack
    let requestShutdown: @Sendable () -> Void

    func addRoutes(to group: RouterGroup<ServiceRequestContext>) {
        group.get("status") { _, _ in
            Response.json(await ControlController.status(stack))
        }
        group.get("replicas") { _, _ in
            Response.json(["replicas": .array(await stack.replicas.map(\.json))])
        }
        group.post("shutdown") { _, _ in
            requestShutdown()
            return Response.json(["stopping": true], status: .accepted)
        }
    }

    /// Phase, endpoints, services and replicas.
    static func status(_ stack: Stack) async -> JSONValue {
        let replicas = await stack.replicas
        let skipped = await stack.skipped
        var endpoints: [JSONValue] = []
        var services: [JSONValue] = []
        for service in stack.project.services {
            let own = replicas.filter { $0.key.service == service.name }
            var entry: [(key: String, value: JSONValue)] = [
                ("name", .string(service.name)),
                ("replicas", .int(Int64(service.replicas))),
                ("ready", .int(Int64(own.filter(\.isReady).count))),
            ]
            if let reason = skipped[service.name] { entry.append(("skipped", .string(reason))) }
            services.append(.object(entry))
            if let endpoint = service.local?.endpoint, let port = service.localPort(slot: 1) {
                endpoints.append(["service": .string(service.name), "url": .string("http://127.0.0.1:\(port)\(endpoint)")])
            }
        }
        return [
            "phase": .string(await stack.phase.rawValue),
            "pid": .int(Int64(getpid())),
            "compose_file": .string(stack.project.path),
            "endpoints": .array(endpoints),
            "services": .array(services),
            "replicas": .array(replicas.map(\.json)),
        ]
    }
}
