import SwitchboardCore
import Testing

/// The learn service's wire contracts: call events with their experiment arm, and resource samples.
struct LearnContractTests {
    static func roundTrip(_ event: CallEvent) throws -> CallEvent {
        var writer = JSONWriter()
        event.write(into: &writer)
        return try CallEvent(json: try JSONParser.parse(writer.bytes))
    }

    @Test func anEventCarriesItsExperimentArm() throws {
        var event = CallEvent(timestamp: 1_732_180_000.5, tool: "read_file", principal: "p", backend: "http://a", latencyMilliseconds: 2, outcome: .ok)
        #expect(try Self.roundTrip(event) == event)
        event.arm = CallEvent.ExperimentArm(experiment: "exp-1", candidate: true)
        #expect(try Self.roundTrip(event) == event)
        event.arm?.candidate = false
        #expect(try Self.roundTrip(event) == event)
        do {
            _ = try CallEvent(json: ["ts": 1, "tool": "t", "latency_ms": 1, "outcome": "ok", "experiment": "exp-1", "arm": "blue"])
            Issue.record("an unknown arm was accepted")
        } catch {
            #expect(error.description == "event.arm must be candidate or control when event.experiment is set")
        }
    }

    @Test func aResourceSampleRoundTripsWithItsMeasures() throws {
        let sample = ResourceSample(timestamp: 1_732_180_000, service: "tools", replica: "tools.2", cpuCores: 0.5, memoryBytes: 1_048_576, queueDepth: 3)
        var writer = JSONWriter()
        sample.write(into: &writer)
        #expect(try ResourceSample(json: try JSONParser.parse(writer.bytes)) == sample)
        #expect(sample.measures.map(\.name) == ["cpu_cores", "memory_bytes", "queue_depth"])
        do {
            _ = try ResourceSample(json: ["ts": 1, "service": "tools", "replica": "tools.2", "in_flight": "many"])
            Issue.record("a non-numeric measure was accepted")
        } catch {
            #expect(error.description == "sample.in_flight must be a number ≥ 0")
        }
    }
}
