import NIOHTTP1
import SwitchboardCore

/// One replica the metrics service scrapes.
struct ScrapeTarget: Sendable, Equatable {
    let service: String
    let replica: Int
    /// host:port
    let address: String
    /// The supervisor's health view ("healthy", "starting", "unhealthy", "none" when unknown).
    let health: String

    var json: JSONValue {
        ["service": .string(service), "replica": .int(Int64(replica)), "address": .string(address), "health": .string(health)]
    }
}

/// Where the list of replicas comes from.
protocol TargetDiscovery: Sendable {
    /// A human description for `/ready`.
    var source: String { get }
    func targets() async throws -> [ScrapeTarget]
}

/// A fixed list from `SWITCHBOARD_SCRAPE_TARGETS` (`service=host:port` entries).
struct StaticTargets: TargetDiscovery {
    let list: [ScrapeTarget]
    var source: String { "static list" }

    init(entries: [String]) throws(ConfigurationError) {
        var replicas: [String: Int] = [:]
        var list: [ScrapeTarget] = []
        for entry in entries {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, parts[1].contains(":") else {
                throw ConfigurationError(description: "invalid entry '\(entry)' in SWITCHBOARD_SCRAPE_TARGETS: expected service=host:port")
            }
            replicas[parts[0], default: 0] += 1
            list.append(ScrapeTarget(service: parts[0], replica: replicas[parts[0]]!, address: parts[1], health: "none"))
        }
        self.list = list
    }

    func targets() async throws -> [ScrapeTarget] { list }
}

/// Replicas as the local supervisor reports them (`GET /v1/replicas`).
struct SupervisorTargets: TargetDiscovery {
    let client: ServiceClient
    var source: String { "supervisor \(client.baseURL)" }

    func targets() async throws -> [ScrapeTarget] {
        let answer = try await client.json(.GET, "/v1/replicas")
        return (answer["replicas"]?.arrayValue ?? []).compactMap { replica in
            guard let service = replica["service"]?.stringValue, let slot = replica["slot"]?.intValue,
                let address = replica["address"]?.stringValue, !address.isEmpty
            else { return nil }
            return ScrapeTarget(service: service, replica: Int(slot), address: address, health: replica["health"]?.stringValue ?? "none")
        }
    }
}
