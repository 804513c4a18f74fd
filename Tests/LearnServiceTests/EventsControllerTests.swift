import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import LearnService

struct EventsControllerTests {
    let auth: HTTPFields = [.authorization: "Bearer \(TestEnvironment.secret)"]

    func event(_ tool: String, latency: Double = 2, outcome: String = "ok") -> String {
        #"{"ts":1732180000.5,"tool":"\#(tool)","principal":"p","backend":"b","latency_ms":\#(latency),"outcome":"\#(outcome)","cache_hit":false,"arg_shape":["path:string"]}"#
    }

    @Test func acceptsBatchesAndLearnsPerToolFigures() async throws {
        let environment = try TestEnvironment.make(service: "learn", keys: ConfigKey.learnService)
        let queue = EventQueue(capacity: 1000)
        let statistics = CallStatistics()
        let app = Application(router: buildRouter(environment, queue: queue, statistics: statistics))
        try await app.test(.router) { client in
            let body = ByteBuffer(string: #"{"events":[\#(event("read_file")),\#(event("read_file", latency: 4, outcome: "tool_error")),\#(event("list_directory"))]}"#)
            try await client.execute(uri: "/v1/events", method: .post, headers: auth, body: body) { response in
                #expect(response.status == .accepted)
                let answer = try JSONParser.parse(response.body)
                #expect(answer == ["accepted": 3, "dropped": 0])
            }
        }
        statistics.apply(queue.drain())
        let figures = try #require(statistics.snapshot["read_file"])
        #expect(figures.calls == 2)
        #expect(figures.errors == 1)
        #expect(abs(figures.meanLatency - 2.2) < 1e-9)
    }

    @Test func invalidEventsNameTheIndexAndField() async throws {
        let environment = try TestEnvironment.make(service: "learn", keys: ConfigKey.learnService)
        let app = Application(router: buildRouter(environment, queue: EventQueue(capacity: 10), statistics: CallStatistics()))
        try await app.test(.router) { client in
            let body = ByteBuffer(string: #"{"events":[\#(event("a")),{"ts":1,"tool":"b","latency_ms":1,"outcome":"great"}]}"#)
            try await client.execute(uri: "/v1/events", method: .post, headers: auth, body: body) { response in
                #expect(response.status == .badRequest)
                let message = try JSONParser.parse(response.body)["error"]?["message"]?.stringValue ?? ""
                #expect(message.hasPrefix("events[1]: event.outcome must be one of ok, tool_error"))
            }
        }
    }

    @Test func aFullQueueDropsAndCountsInsteadOfWaiting() {
        let queue = EventQueue(capacity: 16)
        let events = (0..<20).map { CallEvent(timestamp: 0, tool: "t\($0)", principal: "", backend: "", latencyMilliseconds: 1, outcome: .ok) }
        let result = queue.push(events)
        #expect(result.accepted == 16)
        #expect(result.dropped == 4)
        #expect(queue.totals.dropped == 4)
        #expect(queue.drain().count == 16)
        #expect(queue.push(Array(events.prefix(2))).accepted == 2)
    }
}
