/// Where the gateway learns which tool-service replicas exist and may receive traffic.
///
/// Implementations: a static list from configuration (``StaticReplicas``); the supervisor's control
/// API and Swarm DNS (`tasks.<service>`) plug in here as well.
protocol ReplicaSource: Sendable {
    /// Base URLs of the replicas that may receive calls now, e.g. `http://127.0.0.1:8081`.
    func replicas() async -> [String]
    /// A description for `/ready`.
    var description: String { get }
}

/// A fixed list of replicas (`SWITCHBOARD_TOOLS_URL`).
struct StaticReplicas: ReplicaSource {
    let urls: [String]
    func replicas() async -> [String] { urls }
    var description: String { "\(urls.count) configured replica(s)" }
}
