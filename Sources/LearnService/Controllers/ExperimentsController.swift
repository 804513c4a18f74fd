import Hummingbird
import Synchronization
import SwitchboardCore

/// `GET|POST /v1/experiments`, `GET /v1/experiments/{id}`, `POST /v1/experiments/{id}/stop`,
/// `POST /v1/experiments/{id}/promote` and `DELETE /v1/experiments/pins`.
struct ExperimentsController: Sendable {
    let learner: Learner

    func addRoutes(to group: RouterGroup<ServiceRequestContext>) {
        group.get("experiments") { _, _ in
            let all = learner.experiments.all
            return Response.json([
                "running": all.first.flatMap { $0.status == .running ? .string($0.id) : nil } ?? .null, "experiments": .array(all.map(\.json)),
                "pins": learner.pins.withLock { $0 }.json,
            ])
        }
        group.delete("experiments/pins") { _, _ in
            Response.json(["cleared": try await learner.clearPins().json])
        }
        group.post("experiments") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            let payload: JSONValue
            do {
                payload = try JSONParser.parse(body)
            } catch {
                throw ServiceError(.badRequest, "experiment body: \(error)")
            }
            return Response.json(try await learner.startExperiment(payload).json, status: .created)
        }
        group.get("experiments/{id}") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard let experiment = learner.experiments.all.first(where: { $0.id == id }) else { throw ServiceError(.notFound, "no experiment \(id)") }
            return Response.json(experiment.json)
        }
        group.post("experiments/{id}/stop") { _, context in
            Response.json(try await learner.endExperiment(context.parameters.get("id") ?? "", promote: false).json)
        }
        group.post("experiments/{id}/promote") { _, context in
            Response.json(try await learner.endExperiment(context.parameters.get("id") ?? "", promote: true).json)
        }
    }
}
