import Prometheus
import Hummingbird
import NIOCore
import SwitchboardCore

/// `POST /v1/events` (telemetry batches from the gateway) and `GET /v1/stats`.
struct EventsController: Sendable {
    let queue: EventQueue
    let learner: Learner

    func addRoutes(to group: RouterGroup<ServiceRequestContext>) {
        group.post("events") { request, _ in
            let body = try await request.body.collect(upTo: 16 << 20)
            let events = try Self.decode(body)
            let (accepted, dropped) = queue.push(events)
            learner.metrics.accepted.increment(by: Int64(accepted))
            if dropped > 0 { learner.metrics.dropped.increment(by: Int64(dropped)) }
            learner.metrics.queueDepth.set(Int64(queue.depth))
            return Response.json(["accepted": .int(Int64(accepted)), "dropped": .int(Int64(dropped))], status: .accepted)
        }
        group.get("stats") { _, _ in
            let totals = queue.totals
            let summary = learner.summary
            return Response.json([
                "accepted": .int(Int64(totals.accepted)), "dropped": .int(Int64(totals.dropped)), "queue_depth": .int(Int64(queue.depth)),
                "learned": .int(Int64(summary.events)), "watched_series": .int(Int64(summary.watched)), "memory_bytes": .int(Int64(summary.memory)),
                "next_call_accuracy": summary.accuracy.map { .double($0) } ?? .null,
            ])
        }
    }

    /// Reads `{"events":[…]}`: each item a ``CallEvent`` (with its optional `cache_key` and `result_hash`).
    static func decode(_ body: ByteBuffer) throws -> [Observation] {
        let payload: JSONValue
        do {
            payload = try JSONParser.parse(body)
        } catch {
            throw ServiceError(.badRequest, "events body: \(error)")
        }
        guard let items = payload["events"]?.arrayValue else {
            throw ServiceError(.badRequest, "events body: 'events' must be an array")
        }
        var events: [Observation] = []
        events.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            do {
                events.append(Observation(event: try CallEvent(json: item)))
            } catch {
                throw ServiceError(.badRequest, "events[\(index)]: \(error.description)")
            }
        }
        return events
    }
}
