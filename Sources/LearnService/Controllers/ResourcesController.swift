import Hummingbird
import NIOCore
import SwitchboardCore

/// `POST /v1/resources`: per-replica resource samples (``ResourceSample``) from the supervisor →
/// `202 {"accepted":n,"anomalies":m}`.
struct ResourcesController: Sendable {
    let learner: Learner

    func addRoutes(to group: RouterGroup<ServiceRequestContext>) {
        group.post("resources") { request, _ in
            let samples = try Self.decode(try await request.body.collect(upTo: 4 << 20))
            let found = learner.observe(resources: samples)
            return Response.json(["accepted": .int(Int64(samples.count)), "anomalies": .int(Int64(found.count))], status: .accepted)
        }
    }

    /// Reads `{"samples":[…]}`; the error names the first bad sample and field.
    static func decode(_ body: ByteBuffer) throws -> [ResourceSample] {
        let payload: JSONValue
        do {
            payload = try JSONParser.parse(body)
        } catch {
            throw ServiceError(.badRequest, "resources body: \(error)")
        }
        guard let items = payload["samples"]?.arrayValue else { throw ServiceError(.badRequest, "resources body: 'samples' must be an array") }
        return try items.enumerated().map { index, item in
            do {
                return try ResourceSample(json: item)
            } catch {
                throw ServiceError(.badRequest, "samples[\(index)]: \(error)")
            }
        }
    }
}
