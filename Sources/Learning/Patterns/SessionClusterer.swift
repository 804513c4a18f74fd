import Foundation

/// Groups sessions (a principal's run of calls) by what they do: each session becomes a vector of
/// hashed tool uni-, bi- and tri-grams (feature hashing into `dimensions` slots, L2-normalised), and
/// sequential k-means with forgetting assigns it to the nearest centre `c ← c + η(x − c)`. A session
/// farther than `spawnDistance` from every centre starts a new cluster while fewer than `maxClusters`
/// exist, or replaces the least used cluster once its decayed session count (×`retention` per session)
/// has fallen below one; memory is `maxClusters·dimensions` numbers plus a small tool table per cluster.
public struct SessionClusterer: Sendable {
    public struct Configuration: Sendable, Equatable {
        public var dimensions = 256
        public var maxClusters = 16
        public var learningRate = 0.05
        public var spawnDistance = 0.9
        public var retention = 0.999
        public init() {}
    }

    public struct Cluster: Sendable {
        public var centre: [Double]
        public var sessions: Double
        public var tools: SpaceSaving<String>
    }

    public let configuration: Configuration
    public private(set) var clusters: [Cluster] = []

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// The hashed n-gram vector of a session.
    public func vector(_ calls: [String]) -> [Double] {
        var vector = Array(repeating: 0.0, count: configuration.dimensions)
        for n in 1...3 where calls.count >= n {
            for start in 0...(calls.count - n) {
                // The hash of the n-gram's names joined by U+001F, without building the string.
                var hash = StableHash.basis
                for index in start..<(start + n) {
                    if index > start { hash = StableHash.fold(0x1F, into: hash) }
                    hash = StableHash.fold(calls[index], into: hash)
                }
                vector[Int(hash % UInt64(configuration.dimensions))] += 1
            }
        }
        let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? vector.map { $0 / norm } : vector
    }

    /// Assigns a finished session to a cluster (learning from it); returns the cluster's index.
    @discardableResult
    public mutating func observe(_ calls: [String]) -> Int? {
        guard !calls.isEmpty else { return nil }
        let x = vector(calls)
        for index in clusters.indices { clusters[index].sessions *= configuration.retention }
        let nearest = assign(x)
        if nearest == nil || nearest!.distance > configuration.spawnDistance {
            var tools = SpaceSaving<String>(capacity: 8)
            for call in calls { tools.add(call) }
            let fresh = Cluster(centre: x, sessions: 1, tools: tools)
            if clusters.count < configuration.maxClusters {
                clusters.append(fresh)
                return clusters.count - 1
            }
            if let weakest = clusters.indices.min(by: { clusters[$0].sessions < clusters[$1].sessions }), clusters[weakest].sessions < 1 {
                clusters[weakest] = fresh
                return weakest
            }
            if nearest == nil { return nil }
        }
        let index = nearest!.index
        let rate = max(configuration.learningRate, 1 / (clusters[index].sessions + 1))
        for k in x.indices { clusters[index].centre[k] += rate * (x[k] - clusters[index].centre[k]) }
        clusters[index].sessions += 1
        for call in calls { clusters[index].tools.add(call) }
        return index
    }

    /// The nearest cluster without learning.
    public func assign(_ x: [Double]) -> (index: Int, distance: Double)? {
        var best: (index: Int, distance: Double)?
        for (index, cluster) in clusters.enumerated() {
            var sum = 0.0
            for k in x.indices {
                let difference = x[k] - cluster.centre[k]
                sum += difference * difference
            }
            let distance = sum.squareRoot()
            if best == nil || distance < best!.distance { best = (index, distance) }
        }
        return best
    }

    public var memoryBytes: Int {
        clusters.reduce(MemoryFootprint.array(clusters)) { total, cluster in
            total + MemoryFootprint.array(cluster.centre) + SpaceSaving<String>.bytes(capacity: cluster.tools.capacity)
                + cluster.tools.entries.reduce(0) { $0 + MemoryFootprint.heap($1.item) }
        }
    }

    /// The most `memoryBytes` can be with every cluster in use and names of at most `nameBytes`.
    public static func bytes(configuration: Configuration, nameBytes: Int) -> Int {
        let name = MemoryFootprint.heap(String(repeating: "x", count: nameBytes))
        let cluster = 32 + configuration.dimensions * 8 + SpaceSaving<String>.bytes(capacity: 8) + 8 * name
        return 32 + 2 * configuration.maxClusters * MemoryLayout<Cluster>.stride + configuration.maxClusters * cluster
    }

    public func encode(into writer: inout BinaryWriter) {
        writer.int(configuration.dimensions)
        writer.int(configuration.maxClusters)
        writer.double(configuration.learningRate)
        writer.double(configuration.spawnDistance)
        writer.double(configuration.retention)
        writer.int(clusters.count)
        for cluster in clusters {
            writer.doubles(cluster.centre)
            writer.double(cluster.sessions)
            NextCallPredictor.encode(cluster.tools, into: &writer)
        }
    }

    public init(from reader: inout BinaryReader) throws(CheckpointError) {
        var configuration = Configuration()
        configuration.dimensions = try reader.int()
        configuration.maxClusters = try reader.int()
        configuration.learningRate = try reader.double()
        configuration.spawnDistance = try reader.double()
        configuration.retention = try reader.double()
        guard configuration.dimensions > 0 else { throw CheckpointError("session clusterer: no dimensions") }
        self.init(configuration: configuration)
        for _ in 0..<(try reader.count()) {
            let centre = try reader.doubles()
            guard centre.count == configuration.dimensions else { throw CheckpointError("session clusterer: centre of \(centre.count) dimensions") }
            clusters.append(Cluster(centre: centre, sessions: try reader.double(), tools: try NextCallPredictor.decode(from: &reader)))
        }
    }
}

/// Hashes that do not change between runs (Swift's `Hasher` is seeded per process).
public enum StableHash {
    /// FNV-1a's offset basis: the hash of nothing.
    static let basis: UInt64 = 0xCBF2_9CE4_8422_2325

    public static func fnv1a(_ text: String) -> UInt64 { fold(text, into: basis) }

    /// Continues an FNV-1a hash with `text`'s UTF-8 bytes.
    static func fold(_ text: String, into hash: UInt64) -> UInt64 {
        var hash = hash
        for byte in text.utf8 { hash = fold(byte, into: hash) }
        return hash
    }

    static func fold(_ byte: UInt8, into hash: UInt64) -> UInt64 {
        (hash ^ UInt64(byte)) &* 0x100_0000_01B3
    }
}
