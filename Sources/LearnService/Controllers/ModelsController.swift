import Hummingbird
import SwitchboardCore

/// `GET /v1/models` (kept versions), `POST /v1/models/checkpoint` and `POST /v1/models/{version}/rollback`.
struct ModelsController: Sendable {
    let learner: Learner

    func addRoutes(to group: RouterGroup<ServiceRequestContext>) {
        group.get("models") { _, _ in
            let summary = learner.summary
            return Response.json([
                "current": learner.store.current.map { .int(Int64($0)) } ?? .null, "memory_bytes": .int(Int64(summary.memory)),
                "versions": .array(learner.store.versions.map(\.json)),
            ])
        }
        group.post("models/checkpoint") { _, _ in
            learner.applyPending()
            let version = try await learner.checkpoint(reason: "requested")
            return Response.json(version.json, status: .created)
        }
        group.post("models/{version}/rollback") { _, context in
            let text = context.parameters.get("version") ?? ""
            guard let number = Int(text) else { throw ServiceError(.badRequest, "model version must be an integer, got '\(text)'") }
            let version = try await learner.rollback(to: number)
            return Response.json(["version": version.json, "policy_version": .int(Int64(learner.publisher.current.version))])
        }
    }
}
