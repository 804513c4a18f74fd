/// Additive Holt-Winters exponential smoothing (level, trend, one season of `period` steps):
///
///     ℓ_t = α(y_t − s_{t−m}) + (1 − α)(ℓ_{t−1} + b_{t−1})
///     b_t = β(ℓ_t − ℓ_{t−1}) + (1 − β) b_{t−1}
///     s_t = γ(y_t − ℓ_{t−1} − b_{t−1}) + (1 − γ) s_{t−m}
///     ŷ_{t+h} = ℓ_t + h·b_t + s_{t+h−m⌈h/m⌉}
///
/// It starts after two full seasons: the level is the second season's mean, the trend the change of the
/// seasonal means per step, and each seasonal index the mean over both seasons of the value minus its
/// season's mean.
public struct HoltWinters: Sendable, Equatable {
    public let period: Int
    public let alpha: Double
    public let beta: Double
    public let gamma: Double
    private var level = 0.0
    private var trend = 0.0
    private var seasonal: [Double]
    /// Index in `seasonal` of the step after the last observed one.
    private var phase = 0
    private var warmup: [Double] = []

    public init(period: Int, alpha: Double, beta: Double, gamma: Double) {
        self.period = max(1, period)
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
        seasonal = []
        warmup.reserveCapacity(2 * self.period)
    }

    public var isReady: Bool { warmup.isEmpty && !seasonal.isEmpty }

    public mutating func observe(_ value: Double) {
        guard isReady else {
            warmup.append(value)
            if warmup.count == 2 * period { initialise() }
            return
        }
        let season = seasonal[phase]
        let previousLevel = level
        let previousTrend = trend
        level = alpha * (value - season) + (1 - alpha) * (level + trend)
        trend = beta * (level - previousLevel) + (1 - beta) * previousTrend
        seasonal[phase] = gamma * (value - previousLevel - previousTrend) + (1 - gamma) * season
        phase = (phase + 1) % period
    }

    private mutating func initialise() {
        let first = warmup[0..<period].reduce(0, +) / Double(period)
        let second = warmup[period..<(2 * period)].reduce(0, +) / Double(period)
        trend = (second - first) / Double(period)
        level = second + trend * Double(period - 1) / 2
        seasonal = (0..<period).map { i in ((warmup[i] - first) + (warmup[i + period] - second)) / 2 }
        phase = 0
        warmup = []
    }

    /// The forecast `horizon` ≥ 1 steps ahead (nil until ready).
    public func forecast(_ horizon: Int) -> Double? {
        guard isReady else { return nil }
        let index = (phase + (horizon - 1) % period) % period
        return level + Double(horizon) * trend + seasonal[index]
    }

    public var memoryBytes: Int { (seasonal.capacity + warmup.capacity) * MemoryLayout<Double>.stride + 64 }

    public func encode(into writer: inout BinaryWriter) {
        writer.int(period)
        writer.double(alpha)
        writer.double(beta)
        writer.double(gamma)
        writer.double(level)
        writer.double(trend)
        writer.doubles(seasonal)
        writer.int(phase)
        writer.doubles(warmup)
    }

    public init(from reader: inout BinaryReader) throws(CheckpointError) {
        self.init(period: try reader.int(), alpha: try reader.double(), beta: try reader.double(), gamma: try reader.double())
        level = try reader.double()
        trend = try reader.double()
        seasonal = try reader.doubles()
        phase = try reader.int()
        warmup = try reader.doubles()
        guard seasonal.isEmpty || (seasonal.count == period && (0..<period).contains(phase)), warmup.count < 2 * period else {
            throw CheckpointError("holt-winters: season does not match its period")
        }
    }
}
