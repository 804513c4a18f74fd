/// The supervisor's control API (`switchboard`, loopback only, service secret required), shared by the
/// supervisor, its CLI and the services that discover replicas through it.
///
/// - `GET  /v1/status` → phase, endpoints, services (desired/ready, update state, limits) and replicas.
/// - `GET  /v1/replicas` → `{"replicas":[{service, slot, task, address, state, health, ready, …}]}`.
/// - `GET  /v1/services/{service}/endpoints?since=N&watcher=ID&wait=20s` → ``ReplicaEndpoints``: the
///   replicas that may receive traffic now. With `since`, the answer waits (up to `wait`) until the list
///   changes past version N. A watcher that asks with `since=N` acknowledges that it routes by version N:
///   before stopping a replica the supervisor takes it out of the list and waits until every live watcher
///   has acknowledged the new version (at most the drain timeout).
/// - `POST /v1/services/{service}/scale` with `{"replicas":N}`.
/// - `POST /v1/services/{service}/update` with `{"env":{"K":"V"},"unset_env":["K"],"binary":"/path","force":true}`
///   (all optional): re-reads the compose file for the service, applies the changes, and starts a rolling
///   update with the service's `update_config` when the task definition changed.
/// - `POST /v1/services/{service}/rollback`: back to the previous definition with `rollback_config`.
/// - `GET  /v1/autoscale` → each autoscaled service's recent decisions.
/// - `POST /v1/shutdown`.
public enum SupervisorAPI {
    public static let statusPath = "/v1/status"
    public static let replicasPath = "/v1/replicas"
    public static let autoscalePath = "/v1/autoscale"
    public static let shutdownPath = "/v1/shutdown"
    public static let watcherParameter = "watcher"
    public static let sinceParameter = "since"
    public static let waitParameter = "wait"

    public static func servicePath(_ service: String) -> String { "/v1/services/\(service)" }
    public static func endpointsPath(_ service: String) -> String { "/v1/services/\(service)/endpoints" }
    public static func scalePath(_ service: String) -> String { "/v1/services/\(service)/scale" }
    public static func updatePath(_ service: String) -> String { "/v1/services/\(service)/update" }
    public static func rollbackPath(_ service: String) -> String { "/v1/services/\(service)/rollback" }

    /// `GET /v1/services/{service}/endpoints` with the long-poll parameters.
    public static func endpointsQuery(_ service: String, since: Int, watcher: String, wait: Duration) -> String {
        "\(endpointsPath(service))?\(sinceParameter)=\(since)&\(watcherParameter)=\(watcher)&\(waitParameter)=\(wait.milliseconds)ms"
    }
}

/// The replicas of one service that may receive traffic, at a version that grows with every change.
public struct ReplicaEndpoints: Sendable, Equatable {
    public struct Endpoint: Sendable, Equatable {
        /// Base URL, e.g. `http://127.0.0.1:8081`.
        public let url: String
        public let slot: Int
        public let task: Int

        public init(url: String, slot: Int, task: Int) {
            self.url = url
            self.slot = slot
            self.task = task
        }
    }

    public let service: String
    public let version: Int
    public let endpoints: [Endpoint]

    public init(service: String, version: Int, endpoints: [Endpoint]) {
        self.service = service
        self.version = version
        self.endpoints = endpoints
    }

    public var json: JSONValue {
        [
            "service": .string(service),
            "version": .int(Int64(version)),
            "endpoints": .array(endpoints.map { ["url": .string($0.url), "slot": .int(Int64($0.slot)), "task": .int(Int64($0.task))] }),
        ]
    }

    /// Reads the wire form; nil when it is not one.
    public init?(json: JSONValue) {
        guard let service = json["service"]?.stringValue, let version = json["version"]?.intValue, let list = json["endpoints"]?.arrayValue else {
            return nil
        }
        var endpoints: [Endpoint] = []
        for item in list {
            guard let url = item["url"]?.stringValue else { return nil }
            endpoints.append(Endpoint(url: url, slot: Int(item["slot"]?.intValue ?? 0), task: Int(item["task"]?.intValue ?? 0)))
        }
        self.init(service: service, version: Int(version), endpoints: endpoints)
    }
}
