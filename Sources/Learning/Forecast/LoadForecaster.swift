/// Forecasts a load series (calls per bucket) online with a bank of additive Holt-Winters models —
/// daily and weekly seasons, a few smoothing constants — and answers with the model whose recent
/// `horizon`-step errors are smallest. Nothing is fitted offline: every model learns from the same
/// stream, and the choice follows the data (no look-ahead). Before any model is ready it answers with
/// the last value.
public struct LoadForecaster: Sendable, Equatable {
    public struct Configuration: Sendable, Equatable {
        /// Steps per season, e.g. `[48, 336]` for daily and weekly seasons at 30-minute steps.
        public var periods: [Int]
        /// The horizon the models are compared at.
        public var horizon: Int
        public var alphas: [Double] = [0.1, 0.3, 0.6]
        public var betas: [Double] = [0, 0.01]
        public var gammas: [Double] = [0.1, 0.3]
        /// Weight of the newest error in each model's running mean absolute error.
        public var errorDecay = 0.02

        public init(periods: [Int], horizon: Int) {
            self.periods = periods.filter { $0 > 0 }
            self.horizon = max(1, horizon)
        }

        /// Daily and weekly periods for a bucket length in seconds.
        public static func periods(bucketSeconds: Double) -> [Int] {
            [86_400, 604_800].map { Int(($0 / bucketSeconds).rounded()) }
        }
    }

    public let configuration: Configuration
    private var models: [HoltWinters]
    /// Running mean absolute `horizon`-step error per model (nil until measured).
    private var errors: [Double?]
    /// Forecasts made `1…horizon` steps ago for the current step, per model (ring of `horizon`).
    private var pending: [[Double?]]
    private var slot = 0
    private var last: Double?
    public private(set) var observations = 0

    public init(configuration: Configuration) {
        self.configuration = configuration
        var models: [HoltWinters] = []
        for period in configuration.periods {
            for alpha in configuration.alphas {
                for beta in configuration.betas {
                    for gamma in configuration.gammas { models.append(HoltWinters(period: period, alpha: alpha, beta: beta, gamma: gamma)) }
                }
            }
        }
        self.models = models
        errors = Array(repeating: nil, count: models.count)
        pending = Array(repeating: Array(repeating: nil, count: configuration.horizon), count: models.count)
    }

    /// Learns the next value of the series.
    public mutating func observe(_ value: Double) {
        guard value.isFinite else { return }
        let decay = configuration.errorDecay
        for index in models.indices {
            // The forecast made `horizon` steps ago for this step.
            if let predicted = pending[index][slot] {
                let error = abs(value - predicted)
                errors[index] = errors[index].map { $0 + decay * (error - $0) } ?? error
            }
            models[index].observe(value)
            pending[index][slot] = models[index].forecast(configuration.horizon)
        }
        slot = (slot + 1) % configuration.horizon
        last = value
        observations += 1
    }

    /// The model answering now: the smallest running error among measured models.
    var bestModel: Int? {
        var best: (index: Int, error: Double)?
        for (index, error) in errors.enumerated() {
            guard let error, models[index].isReady else { continue }
            if best == nil || error < best!.error { best = (index, error) }
        }
        return best?.index
    }

    /// The forecast `steps` ahead (1 = next step); nil before the first observation.
    public func forecast(_ steps: Int = 1) -> Double? {
        if let index = bestModel, let value = models[index].forecast(max(1, steps)) { return value }
        return last
    }

    /// The largest forecast over the next `steps` steps: what a scaler should provision for.
    public func peak(over steps: Int) -> Double? {
        (1...max(1, steps)).compactMap { forecast($0) }.max()
    }

    /// Which model answers, e.g. `holt-winters(period 336, α 0.3, β 0, γ 0.1)`.
    public var modelDescription: String {
        guard let index = bestModel else { return last == nil ? "none" : "last value" }
        let model = models[index]
        return "holt-winters(period \(model.period), α \(model.alpha), β \(model.beta), γ \(model.gamma))"
    }

    /// The chosen model's running mean absolute error at the configured horizon.
    public var meanAbsoluteError: Double? { bestModel.flatMap { errors[$0] } }

    public var memoryBytes: Int {
        models.reduce(0) { $0 + $1.memoryBytes } + models.count * (configuration.horizon * 9 + 24) + 128
    }

    public func encode(into writer: inout BinaryWriter) {
        writer.ints(configuration.periods)
        writer.int(configuration.horizon)
        writer.doubles(configuration.alphas)
        writer.doubles(configuration.betas)
        writer.doubles(configuration.gammas)
        writer.double(configuration.errorDecay)
        writer.int(models.count)
        for model in models { model.encode(into: &writer) }
        for error in errors { writer.double(error ?? .nan) }
        for ring in pending { for value in ring { writer.double(value ?? .nan) } }
        writer.int(slot)
        writer.double(last ?? .nan)
        writer.int(observations)
    }

    public init(from reader: inout BinaryReader) throws(CheckpointError) {
        var configuration = Configuration(periods: try reader.ints(), horizon: try reader.int())
        configuration.alphas = try reader.doubles()
        configuration.betas = try reader.doubles()
        configuration.gammas = try reader.doubles()
        configuration.errorDecay = try reader.double()
        self.init(configuration: configuration)
        let count = try reader.count()
        guard count == models.count else { throw CheckpointError("forecaster: \(count) models, configuration makes \(models.count)") }
        for index in 0..<count { models[index] = try HoltWinters(from: &reader) }
        for index in 0..<count { errors[index] = Self.optional(try reader.double()) }
        for index in 0..<count { for step in 0..<configuration.horizon { pending[index][step] = Self.optional(try reader.double()) } }
        slot = try reader.int()
        last = Self.optional(try reader.double())
        observations = try reader.int()
        guard (0..<configuration.horizon).contains(slot) else { throw CheckpointError("forecaster: slot \(slot) out of range") }
    }

    private static func optional(_ value: Double) -> Double? { value.isNaN ? nil : value }
}
