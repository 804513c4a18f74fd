import Foundation
import HTTPTypes
import Hummingbird
import SwitchboardCore

/// `GET /v1/policy` (with ETag / If-None-Match) and `GET /v1/anomalies?after=<id>&limit=<n>`.
struct PolicyController: Sendable {
    let learner: Learner

    func addRoutes(to group: RouterGroup<ServiceRequestContext>) {
        group.get("policy") { request, _ in
            let policy = learner.publisher.current
            if let tags = request.headers[.ifNoneMatch], tags.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == policy.etag }) {
                return Response(status: .notModified, headers: [.eTag: policy.etag])
            }
            return Response.json(policy.bytes, headers: [.eTag: policy.etag, .cacheControl: "no-cache"])
        }
        group.get("anomalies") { request, _ in
            let after = try Self.integer(request, "after", default: 0, range: 0...Int.max)
            let limit = try Self.integer(request, "limit", default: 100, range: 1...1000)
            let found = learner.anomalies.after(after, limit: limit)
            return Response.json(["anomalies": .array(found.map(\.json))])
        }
    }

    static func integer(_ request: Request, _ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = request.uri.queryParameters.get(name) else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw ServiceError(.badRequest, "query parameter '\(name)' must be an integer from \(range.lowerBound) to \(range.upperBound), got '\(text)'")
        }
        return number
    }
}
