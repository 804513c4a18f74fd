import Foundation

/// What the learn service knows about one replica (or backend) from its completed calls: throughput,
/// latency and error rate, each decayed with time constant `halfLife`, and from them the replica's
/// service rate. Modelling the replica as a single queue (M/M/1), mean latency is `W = 1/(μ − λ)`, so
/// `μ̂ = λ̂ + 1/Ŵ`: consistent at any load, including when little traffic reaches the replica.
public struct ReplicaEstimator: Sendable, Equatable {
    /// Seconds after which an observation counts half.
    public let halfLife: Double
    private var decayedCount = 0.0
    private var latencyWeight = 0.0
    private var latencySum = 0.0
    private var errorSum = 0.0
    public private(set) var lastSeen: Double?
    public private(set) var firstSeen: Double?
    public private(set) var observations = 0

    public init(halfLife: Double = 5) {
        self.halfLife = halfLife
    }

    /// One completed call.
    /// - Parameters: `latency` in seconds; `failed` when the call did not produce a result.
    public mutating func observe(latency: Double, failed: Bool, at time: Double) {
        decay(to: time)
        decayedCount += 1
        latencyWeight += 1
        latencySum += max(0, latency)
        if failed { errorSum += 1 }
        observations += 1
        if firstSeen == nil { firstSeen = time }
    }

    private mutating func decay(to time: Double) {
        if let last = lastSeen, time > last {
            let factor = exp2(-(time - last) / halfLife)
            decayedCount *= factor
            latencyWeight *= factor
            latencySum *= factor
            errorSum *= factor
        }
        lastSeen = max(lastSeen ?? time, time)
    }

    /// Completions per second around `time`.
    public func throughput(at time: Double) -> Double {
        guard let last = lastSeen, let first = firstSeen else { return 0 }
        // A decayed count over a window of `halfLife/ln 2` seconds, shorter while the replica is new.
        let window = min(halfLife / log(2), max(time - first, halfLife / 10))
        return decayedCount * exp2(-max(0, time - last) / halfLife) / window
    }

    /// Mean latency in seconds (0 without observations).
    public var meanLatency: Double { latencyWeight > 0 ? latencySum / latencyWeight : 0 }

    /// Share of recent calls that failed.
    public var errorRate: Double { latencyWeight > 0 ? errorSum / latencyWeight : 0 }

    /// Estimated service rate (calls per second the replica can complete).
    public func serviceRate(at time: Double) -> Double? {
        guard latencyWeight > 0, meanLatency > 0 else { return nil }
        return throughput(at: time) + 1 / meanLatency
    }

    public func encode(into writer: inout BinaryWriter) {
        writer.double(halfLife)
        writer.double(decayedCount)
        writer.double(latencyWeight)
        writer.double(latencySum)
        writer.double(errorSum)
        writer.double(lastSeen ?? .nan)
        writer.double(firstSeen ?? .nan)
        writer.int(observations)
    }

    public init(from reader: inout BinaryReader) throws(CheckpointError) {
        self.init(halfLife: try reader.double())
        decayedCount = try reader.double()
        latencyWeight = try reader.double()
        latencySum = try reader.double()
        errorSum = try reader.double()
        let last = try reader.double()
        let first = try reader.double()
        lastSeen = last.isNaN ? nil : last
        firstSeen = first.isNaN ? nil : first
        observations = try reader.int()
    }
}
