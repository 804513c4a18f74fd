/// Routing weights for every replica or backend seen in telemetry, learned from completed calls.
public struct RoutingModel: Sendable, Equatable {
    public struct Configuration: Sendable, Equatable {
        /// Seconds after which an observation counts half.
        public var halfLife = 5.0
        /// Smallest share a known replica keeps, so that its recovery is seen.
        public var floor = 0.02
        /// Replicas not heard from for this many seconds are forgotten.
        public var idleExpiry = 600.0
        /// Most replicas tracked; the longest idle is forgotten first.
        public var capacity = 1024
        public init() {}
    }

    public let configuration: Configuration
    public private(set) var replicas: [String: ReplicaEstimator] = [:]

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    public mutating func observe(replica: String, latency: Double, failed: Bool, at time: Double) {
        if replicas[replica] == nil, replicas.count >= configuration.capacity,
            let idlest = replicas.min(by: { ($0.value.lastSeen ?? 0) < ($1.value.lastSeen ?? 0) })?.key
        {
            replicas[idlest] = nil
        }
        replicas[replica, default: ReplicaEstimator(halfLife: configuration.halfLife)].observe(latency: latency, failed: failed, at: time)
    }

    /// Drops replicas idle longer than `idleExpiry`.
    public mutating func expire(at time: Double) {
        replicas = replicas.filter { time - ($0.value.lastSeen ?? time) <= configuration.idleExpiry }
    }

    /// Weights per replica summing to 1, from the square-root allocation of the estimated service rates.
    public func weights(at time: Double) -> [String: Double] {
        let names = replicas.keys.sorted()
        guard !names.isEmpty else { return [:] }
        let estimators = names.map { replicas[$0]! }
        let known = estimators.compactMap { $0.serviceRate(at: time) }
        let fallback = known.isEmpty ? 1 : known.reduce(0, +) / Double(known.count)
        let rates = estimators.map { $0.serviceRate(at: time) ?? fallback }
        let load = estimators.reduce(0) { $0 + $1.throughput(at: time) }
        let weights = RoutingAllocator.weights(rates: rates, errorRates: estimators.map(\.errorRate), load: load, floor: configuration.floor)
        return Dictionary(uniqueKeysWithValues: zip(names, weights))
    }

    public var memoryBytes: Int { replicas.reduce(0) { $0 + $1.key.utf8.count + 96 } + 64 }

    public func encode(into writer: inout BinaryWriter) {
        writer.double(configuration.halfLife)
        writer.double(configuration.floor)
        writer.double(configuration.idleExpiry)
        writer.int(configuration.capacity)
        writer.int(replicas.count)
        for name in replicas.keys.sorted() {
            writer.string(name)
            replicas[name]!.encode(into: &writer)
        }
    }

    public init(from reader: inout BinaryReader) throws(CheckpointError) {
        var configuration = Configuration()
        configuration.halfLife = try reader.double()
        configuration.floor = try reader.double()
        configuration.idleExpiry = try reader.double()
        configuration.capacity = try reader.int()
        self.init(configuration: configuration)
        for _ in 0..<(try reader.count()) {
            let name = try reader.string()
            replicas[name] = try ReplicaEstimator(from: &reader)
        }
    }
}
