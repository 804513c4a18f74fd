import AsyncHTTPClient
import Foundation
import Logging
import NIOHTTP1
import SwitchboardCore

/// Sends every sample of the running replicas' resource use to the learn service
/// (`POST /v1/resources`, ``ResourceSample``), which watches each measure per replica for anomalies.
/// CPU and memory come from the supervisor's own sample (cgroup or /proc); in-flight requests and queue
/// depth are scraped from the replica's `/metrics` (`switchboard_http_requests_in_flight` less the scrape
/// itself; the sum of gauges named `queue_depth` or `*_queue_depth`), and left out when it has none.
/// A learn service that is away costs one warning per outage, never a sample loop.
actor ResourceReporter {
    /// One replica at one sample.
    struct Replica: Sendable {
        var service: String
        var name: String
        var url: String?
        var usage: ResourceUsage
    }

    private let client: ServiceClient
    private let logger: Logger
    private var failing = false
    private(set) var sent = 0

    init(baseURL: String, secret: String, logger: Logger) {
        client = ServiceClient(baseURL: baseURL, httpClient: .shared, secret: secret, timeout: .seconds(2))
        self.logger = logger
    }

    /// Scrapes the replicas' gauges and posts one batch.
    func report(_ replicas: [Replica], at time: Double = Date().timeIntervalSince1970) async {
        guard !replicas.isEmpty else { return }
        let samples = await withTaskGroup(of: ResourceSample.self) { group -> [ResourceSample] in
            for replica in replicas {
                group.addTask {
                    var sample = ResourceSample(
                        timestamp: time, service: replica.service, replica: replica.name, cpuCores: replica.usage.cpuCores,
                        memoryBytes: replica.usage.memoryBytes.map(Double.init)
                    )
                    if let url = replica.url, let text = await Stack.fetch(url + "/metrics"), let exposition = try? PrometheusText(text) {
                        (sample.inFlight, sample.queueDepth) = Self.gauges(exposition)
                    }
                    return sample
                }
            }
            return await group.reduce(into: []) { $0.append($1) }.sorted { $0.replica < $1.replica }
        }
        do {
            let response = try await client.send(.POST, LearnServiceAPI.resourcesPath, body: LearnServiceAPI.resourcesBody(samples))
            guard (200..<300).contains(response.status) else { throw ContractError("HTTP \(response.status)") }
            sent += samples.count
            if failing {
                failing = false
                logger.notice("resource samples reach the learn service again")
            }
        } catch {
            if !failing {
                failing = true
                logger.warning("resource samples not sent to the learn service", metadata: ["error": .string("\(error)")])
            }
        }
    }

    /// In-flight requests (less the scrape) and queue depth in a replica's exposition; nil when absent.
    static func gauges(_ exposition: PrometheusText) -> (inFlight: Double?, queueDepth: Double?) {
        var inFlight: Double?, queueDepth: Double?
        for sample in exposition.samples {
            if sample.name == "switchboard_http_requests_in_flight" {
                inFlight = (inFlight ?? 0) + sample.value
            } else if sample.name == "queue_depth" || sample.name.hasSuffix("_queue_depth") {
                queueDepth = (queueDepth ?? 0) + sample.value
            }
        }
        return (inFlight.map { max(0, $0 - 1) }, queueDepth)
    }
}
