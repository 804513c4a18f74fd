/// The learn service's streaming anomaly detector: is the recent stretch of a series unlike anything seen
/// before, or has the value left every level seen so far?
///
/// - Values are summarised in blocks of `blockSize` rows (mean, maximum, minimum of each block).
/// - The last `windowBlocks` blocks form a window, compared by Euclidean distance with every earlier,
///   non-overlapping window in a bounded library, on two channels: *level* (the window as is) and
///   *shape* (the window minus its mean). The nearest neighbour's distance measures novelty.
/// - A channel reports `1 − 0.5·q/d` when its distance `d` exceeds `q`, the `referenceQuantile` of the
///   distances it measured before (from half-way through probation on); the series' score is the larger
///   of the two channels. The distance ratio makes the score independent of the series' scale.
/// - Spatial rule (as in Numenta's HTM detector): a value beyond the running minimum/maximum by more
///   than `spatialTolerance` of the running range scores 1.
/// - After a score ≥ `alertThreshold` (a distance ratio of `alertRatio`), the detector stays silent
///   for `restFraction · probation` rows, so one event raises one alert.
/// - Nothing is reported during the first `probation` rows; memory is fixed by `capacity`.
public struct NoveltyDetector: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// Rows learned before anything is reported (NAB: `min(0.15·rows, 750)`).
        public var probation: Int
        /// Rows summarised per block.
        public var blockSize: Int
        public var windowBlocks = 8
        public var referenceQuantile = 0.95
        public var alertRatio = 1.2
        public var restFraction = 0.2
        public var spatialTolerance = 0.05
        /// Windows (and distances) kept per channel.
        public var capacity = 4096

        /// Blocks are `probation/104` rows long: probation then holds 13 windows of 8 blocks.
        public init(probation: Int = 750) {
            self.probation = max(1, probation)
            blockSize = max(1, Int((Double(probation) / 104).rounded()))
        }

        /// The score at and above which an observation is an anomaly event.
        public var alertThreshold: Double { 1 - 0.5 / alertRatio }
    }

    public let configuration: Configuration
    private var row = 0
    private var restRemaining = 0
    private var runningMin = Double.infinity
    private var runningMax = -Double.infinity
    /// Values are shifted and scaled by the first value so that Float features keep their precision.
    private var offset = 0.0
    private var scale = 1.0
    private var blockSum = 0.0
    private var blockMax = -Double.infinity
    private var blockMin = Double.infinity
    private var blockRows = 0
    /// The last `windowBlocks` block summaries, oldest first once full.
    private var recent: [Float] = []
    private var level: NoveltyChannel
    private var shape: NoveltyChannel

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        let dimensions = configuration.windowBlocks * 3
        level = NoveltyChannel(dimensions: dimensions, capacity: configuration.capacity)
        shape = NoveltyChannel(dimensions: dimensions, capacity: configuration.capacity)
        recent.reserveCapacity(dimensions)
    }

    /// Rows seen.
    public var rows: Int { row }

    /// Scores `value` (0 = normal, up to 1) and learns from it.
    public mutating func process(_ value: Double) -> Double {
        guard value.isFinite else { return 0 }
        row += 1
        if row == 1 {
            offset = value
            scale = abs(value) > 1e-9 ? abs(value) : 1
        }
        var score = 0.0
        if runningMax > runningMin {
            let tolerance = (runningMax - runningMin) * configuration.spatialTolerance
            if value > runningMax + tolerance || value < runningMin - tolerance { score = 1 }
        }
        runningMin = min(runningMin, value)
        runningMax = max(runningMax, value)

        let normalized = (value - offset) / scale
        blockSum += normalized
        blockMax = max(blockMax, normalized)
        blockMin = min(blockMin, normalized)
        blockRows += 1
        if blockRows == configuration.blockSize {
            score = max(score, closeBlock())
        }

        guard row > configuration.probation else { return 0 }
        if restRemaining > 0 {
            restRemaining -= 1
            return 0
        }
        if score >= configuration.alertThreshold {
            restRemaining = Int(Double(configuration.probation) * configuration.restFraction)
        }
        return score
    }

    /// Ends a block; once a window is complete, measures and stores it. Returns the novelty score.
    private mutating func closeBlock() -> Double {
        let dimensions = configuration.windowBlocks * 3
        if recent.count == dimensions { recent.removeFirst(3) }
        recent.append(Float(blockSum / Double(blockRows)))
        recent.append(Float(blockMax))
        recent.append(Float(blockMin))
        blockSum = 0
        blockMax = -.infinity
        blockMin = .infinity
        blockRows = 0
        guard recent.count == dimensions else { return 0 }

        let measuring = row > configuration.probation / 2
        let scoring = row > configuration.probation
        let exclude = configuration.windowBlocks
        var score = level.observe(recent, excludingLatest: exclude, measure: measuring, quantile: configuration.referenceQuantile, score: scoring)
        let mean = recent.reduce(0, +) / Float(dimensions)
        let centred = recent.map { $0 - mean }
        score = max(score, shape.observe(centred, excludingLatest: exclude, measure: measuring, quantile: configuration.referenceQuantile, score: scoring))
        return score
    }

    /// Bytes held by the detector's buffers.
    public var memoryBytes: Int {
        level.memoryBytes + shape.memoryBytes + recent.capacity * MemoryLayout<Float>.stride + 160
    }

    /// Writes the complete state.
    public func encode(into writer: inout BinaryWriter) {
        writer.int(configuration.probation)
        writer.int(configuration.blockSize)
        writer.int(configuration.windowBlocks)
        writer.double(configuration.referenceQuantile)
        writer.double(configuration.alertRatio)
        writer.double(configuration.restFraction)
        writer.double(configuration.spatialTolerance)
        writer.int(configuration.capacity)
        writer.int(row)
        writer.int(restRemaining)
        writer.double(runningMin)
        writer.double(runningMax)
        writer.double(offset)
        writer.double(scale)
        writer.double(blockSum)
        writer.double(blockMax)
        writer.double(blockMin)
        writer.int(blockRows)
        writer.floats(recent)
        level.encode(into: &writer)
        shape.encode(into: &writer)
    }

    /// Reads a state written by `encode`.
    public init(from reader: inout BinaryReader) throws(CheckpointError) {
        var configuration = Configuration(probation: try reader.int())
        configuration.blockSize = try reader.int()
        configuration.windowBlocks = try reader.int()
        configuration.referenceQuantile = try reader.double()
        configuration.alertRatio = try reader.double()
        configuration.restFraction = try reader.double()
        configuration.spatialTolerance = try reader.double()
        configuration.capacity = try reader.int()
        guard configuration.blockSize > 0, configuration.windowBlocks > 0, configuration.capacity > 0 else {
            throw CheckpointError("novelty detector: invalid configuration")
        }
        self.init(configuration: configuration)
        row = try reader.int()
        restRemaining = try reader.int()
        runningMin = try reader.double()
        runningMax = try reader.double()
        offset = try reader.double()
        scale = try reader.double()
        blockSum = try reader.double()
        blockMax = try reader.double()
        blockMin = try reader.double()
        blockRows = try reader.int()
        recent = try reader.floats()
        level = try NoveltyChannel(from: &reader)
        shape = try NoveltyChannel(from: &reader)
    }
}

/// One view of the windows: a bounded library of past windows and of the nearest-neighbour distances
/// measured, from which the reference quantile is taken.
struct NoveltyChannel: Sendable {
    let dimensions: Int
    let capacity: Int
    /// Ring of windows, `dimensions` floats each.
    private var library: [Float] = []
    private var stored = 0
    private var distances = BoundedRing(capacity: 1)
    /// Ring position of the last nearest window (a search hint only; not part of the state).
    private var nearest = -2

    init(dimensions: Int, capacity: Int) {
        self.dimensions = dimensions
        self.capacity = capacity
        distances = BoundedRing(capacity: capacity)
    }

    /// Measures `window` against the stored windows except the `excludingLatest` newest, stores it, and
    /// returns its novelty score.
    mutating func observe(_ window: [Float], excludingLatest excluded: Int, measure: Bool, quantile: Double, score: Bool) -> Double {
        let available = min(stored, capacity)
        let comparable = available - excluded
        var result = 0.0
        if comparable > 0 {
            var best = Float.infinity
            library.withUnsafeBufferPointer { windows in
                window.withUnsafeBufferPointer { current in
                    // Slots of the `comparable` oldest windows still in the ring.
                    let oldest = stored - available
                    // Windows overlap, so the successor of the last nearest window is usually near: measured
                    // first, it lets most others be abandoned early. The minimum found is the same.
                    let hint = nearest + 1
                    if hint >= oldest && hint < oldest + comparable {
                        let base = (hint % capacity) * dimensions
                        var sum: Float = 0
                        for k in 0..<dimensions {
                            let difference = current[k] - windows[base + k]
                            sum += difference * difference
                        }
                        best = sum
                    }
                    var found = hint
                    // The distance over the first multiple of 8 features, summed in SIMD lanes (another order,
                    // so compared with a margin far above Float rounding), skips most windows before the
                    // exact sum; that sum, in the original order, decides.
                    let lanes = dimensions / 8
                    let here = UnsafeRawPointer(current.baseAddress!)
                    let start = oldest % capacity
                    for step in 0..<comparable {
                        let slot = start + step < capacity ? start + step : start + step - capacity
                        let base = slot * dimensions
                        if lanes > 0 {
                            let there = UnsafeRawPointer(windows.baseAddress! + base)
                            var squares = SIMD8<Float>()
                            for lane in 0..<lanes {
                                let difference = here.loadUnaligned(fromByteOffset: lane * 32, as: SIMD8<Float>.self)
                                    - there.loadUnaligned(fromByteOffset: lane * 32, as: SIMD8<Float>.self)
                                squares += difference * difference
                            }
                            if squares.sum() * 0.9999 >= best { continue }
                        }
                        var sum: Float = 0
                        // Partial sums only grow: a window is abandoned once it cannot be nearer (the same
                        // minimum, summed in the same order, at a fraction of the work).
                        var k = 0
                        while k < dimensions {
                            let end = min(dimensions, k + 6)
                            while k < end {
                                let difference = current[k] - windows[base + k]
                                sum += difference * difference
                                k += 1
                            }
                            if sum >= best { break }
                        }
                        if sum < best {
                            best = sum
                            found = oldest + step
                        }
                    }
                    nearest = found
                }
            }
            let distance = Double(best).squareRoot()
            if measure {
                if score, distances.count > 0 {
                    let reference = distances.quantile(quantile)
                    if distance > reference && reference > 0 { result = min(1, 1 - 0.5 * reference / distance) }
                }
                distances.append(distance)
            }
        }
        let slot = (stored % capacity) * dimensions
        if library.count < capacity * dimensions && slot == library.count {
            library.append(contentsOf: window)
        } else {
            for k in 0..<dimensions { library[slot + k] = window[k] }
        }
        stored += 1
        return result
    }

    var memoryBytes: Int {
        library.capacity * MemoryLayout<Float>.stride + distances.memoryBytes
    }

    func encode(into writer: inout BinaryWriter) {
        writer.int(dimensions)
        writer.int(capacity)
        writer.int(stored)
        writer.floats(library)
        distances.encode(into: &writer)
    }

    init(from reader: inout BinaryReader) throws(CheckpointError) {
        dimensions = try reader.int()
        capacity = try reader.int()
        stored = try reader.int()
        library = try reader.floats()
        distances = try BoundedRing(from: &reader)
        guard dimensions > 0, capacity > 0, library.count == min(stored, capacity) * dimensions else {
            throw CheckpointError("novelty channel: window library does not match its size")
        }
    }
}
