import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import LearnService

/// `POST /v1/resources`: per-replica resource samples feed anomaly detection on each measure.
struct ResourcesControllerTests {
    /// `count` samples of one replica every 2 s: CPU around `cpu` cores (a deterministic ±10 % wobble),
    /// steady memory, one or two requests in flight.
    static func samples(_ replica: String, from start: Double, count: Int, cpu: Double) -> [String] {
        (0..<count).map { step in
            let wobble = 1 + 0.1 * sin(Double(step) * 0.7)
            var writer = JSONWriter()
            ResourceSample(
                timestamp: start + Double(step) * 2, service: "tools", replica: replica, cpuCores: cpu * wobble, memoryBytes: 64_000_000 + Double(step % 3) * 100_000,
                inFlight: Double(1 + step % 2), queueDepth: 0
            ).write(into: &writer)
            return String(decoding: writer.bytes, as: UTF8.self)
        }
    }

    static func post(_ client: some TestClientProtocol, _ samples: [String]) async throws -> JSONValue {
        try await client.execute(
            uri: LearnServiceAPI.resourcesPath, method: .post, headers: LearnFixture.auth, body: ByteBuffer(string: #"{"samples":[\#(samples.joined(separator: ","))]}"#)
        ) { response in
            #expect(response.status == .accepted)
            return try JSONParser.parse(response.body)
        }
    }

    /// A replica whose CPU jumps from 0.1 to 3.5 cores after 300 calm samples is reported as a
    /// `cpu_cores` anomaly of that replica, and nothing is reported before the jump.
    @Test func aCPUJumpIsAReplicaResourceAnomaly() async throws {
        let fixture = try await LearnFixture()
        let start = 1_732_180_000.0
        try await fixture.application.test(.router) { client in
            let calm = try await Self.post(client, Self.samples("tools.1", from: start, count: 300, cpu: 0.1))
            #expect(calm["accepted"] == 300)
            #expect(calm["anomalies"] == 0)
            let spike = try await Self.post(client, Self.samples("tools.1", from: start + 600, count: 3, cpu: 3.5))
            #expect((spike["anomalies"]?.intValue ?? 0) >= 1)
            let anomalies = try await client.execute(uri: "/v1/anomalies", method: .get, headers: LearnFixture.auth) { response in
                try JSONParser.parse(response.body)["anomalies"]?.arrayValue ?? []
            }
            let cpu = anomalies.filter { $0["measure"] == "cpu_cores" }
            #expect(!cpu.isEmpty)
            #expect(cpu.allSatisfy { $0["scope"] == "replica" && $0["subject"] == "tools.1" && ($0["ts"]?.doubleValue ?? 0) >= start + 600 })
            #expect(sample(fixture.environment.metrics.registry, "switchboard_learn_resource_samples_total") == 303)
            #expect((sample(fixture.environment.metrics.registry, #"switchboard_learn_anomalies_total{scope="replica",measure="cpu_cores"}"#) ?? 0) >= 1)
        }
    }

    @Test func badSamplesNameTheField() async throws {
        let fixture = try await LearnFixture()
        try await fixture.application.test(.router) { client in
            for (body, message) in [
                (#"{"samples":[{"ts":1,"service":"tools","replica":"tools.1","cpu_cores":-1}]}"#, "samples[0]: sample.cpu_cores must be a number ≥ 0"),
                (#"{"samples":[{"ts":1,"service":"tools"}]}"#, "samples[0]: sample.replica must be a non-empty string"),
                (#"{"sample":[]}"#, "resources body: 'samples' must be an array"),
            ] {
                try await client.execute(uri: LearnServiceAPI.resourcesPath, method: .post, headers: LearnFixture.auth, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .badRequest)
                    let answer = try JSONParser.parse(response.body)
                    #expect(answer["error"]?["message"]?.stringValue == message)
                }
            }
        }
    }
}
