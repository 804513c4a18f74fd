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

    /// `cache_key` and `result_hash` are part of the event contract: written only when set, read back,
    /// and a mistyped one is named.
    @Test func anEventCarriesItsCacheKeyAndResultHash() throws {
        var event = CallEvent(timestamp: 1_732_180_000, tool: "read_file", principal: "p", backend: "cache", latencyMilliseconds: 0.2, outcome: .ok, cacheHit: true)
        var writer = JSONWriter()
        event.write(into: &writer)
        #expect(!String(decoding: writer.bytes, as: UTF8.self).contains("cache_key"))
        event.cacheKey = "9f86d081884c7d659a2feaa0c55ad015"
        #expect(try Self.roundTrip(event) == event)
        event.resultHash = "2cf24dba5fb0a30e"
        let json = try JSONParser.parse({ var writer = JSONWriter(); event.write(into: &writer); return writer.bytes }())
        #expect(json["cache_key"] == "9f86d081884c7d659a2feaa0c55ad015")
        #expect(json["result_hash"] == "2cf24dba5fb0a30e")
        #expect(try CallEvent(json: json) == event)
        do {
            _ = try CallEvent(json: ["ts": 1, "tool": "t", "latency_ms": 1, "outcome": "ok", "result_hash": 42])
            Issue.record("a numeric result_hash was accepted")
        } catch {
            #expect(error.description == "event.result_hash must be a string")
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
