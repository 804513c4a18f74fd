import Learning
import Hummingbird
import SwitchboardCore

/// `POST /v1/predict`: `{"principal":"alice","recent":["read_file"],"limit":3}` →
/// `{"predictions":[{"tool":"edit_file","probability":0.8}]}`. Without `recent`, the principal's
/// current session is the history.
struct PredictionController: Sendable {
    let learner: Learner

    func addRoutes(to group: RouterGroup<ServiceRequestContext>) {
        group.post("predict") { request, _ in
            let body = try await request.body.collect(upTo: 64 << 10)
            let query: JSONValue
            do {
                query = try JSONParser.parse(body)
            } catch {
                throw ServiceError(.badRequest, "predict body: \(error)")
            }
            guard let principal = query["principal"]?.stringValue else { throw ServiceError(.badRequest, "predict body: 'principal' must be a string") }
            var recent: [String]?
            if let value = query["recent"] {
                guard let items = value.arrayValue, items.allSatisfy({ $0.stringValue != nil }) else {
                    throw ServiceError(.badRequest, "predict body: 'recent' must be an array of tool names")
                }
                recent = items.compactMap(\.stringValue)
            }
            let limit = query["limit"]?.intValue.map(Int.init) ?? 3
            guard (1...20).contains(limit) else { throw ServiceError(.badRequest, "predict body: 'limit' must be from 1 to 20") }
            let predictions = learner.predict(principal: principal, recent: recent, limit: limit)
            return Response.json([
                "predictions": .array(predictions.map { ["tool": .string($0.call), "probability": .double(PolicyDocument.rounded($0.probability))] })
            ])
        }
    }
}
