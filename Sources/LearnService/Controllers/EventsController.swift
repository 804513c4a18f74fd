import Hummingbird
import NIOCore
import SwitchboardCore

/// `POST /v1/events` (telemetry batches from the gateway) and `GET /v1/stats`.
struct EventsController: Sendable {
    let queue: EventQueue
    let statistics: CallStatistics

    func addRoutes(to group: RouterGroup<ServiceRequestContext>) {
        group.post("events") { request, _ in
            let body = try await request.body.collect(upTo: 16 << 20)
            let events = try Self.decode(body)
            let (accepted, dropped) = queue.push(events)
            return Response.json(["accepted": .int(Int64(accepted)), "dropped": .int(Int64(dropped))], status: .accepted)
        }
        group.get("stats") { _, _ in
            let totals = queue.totals
            let tools = statistics.snapshot.sorted { $0.key < $1.key }.map { name, figures -> (key: String, value: JSONValue) in
                (
                    name,
                    [
                        "calls": .int(Int64(figures.calls)), "errors": .int(Int64(figures.errors)), "cache_hits": .int(Int64(figures.cacheHits)),
                        "mean_latency_ms": .double(figures.meanLatency),
                    ]
                )
            }
            return Response.json([
                "accepted": .int(Int64(totals.accepted)), "dropped": .int(Int64(totals.dropped)), "queue_depth": .int(Int64(queue.depth)),
                "tools": .object(tools),
            ])
        }
    }

    static func decode(_ body: ByteBuffer) throws -> [CallEvent] {
        let payload: JSONValue
        do {
            payload = try JSONParser.parse(body)
        } catch {
            throw ServiceError(.badRequest, "events body: \(error)")
        }
        guard let items = payload["events"]?.arrayValue else {
            throw ServiceError(.badRequest, "events body: 'events' must be an array")
        }
        var events: [CallEvent] = []
        events.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            do {
                events.append(try CallEvent(json: item))
            } catch {
                throw ServiceError(.badRequest, "events[\(index)]: \(error.description)")
            }
        }
        return events
    }
}
