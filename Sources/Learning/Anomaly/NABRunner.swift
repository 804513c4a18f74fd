import Dispatch
import Foundation

/// Runs a detector over NAB series the way NAB's rules require: each file from a fresh detector, one
/// parameter set for all files, values fed in order (no look-ahead). Like every NAB detector, a
/// detector may know its file's value range and length (NAB's `inputMin`, `inputMax` and probation).
public enum NABRunner {
    /// The detectors this package can run over NAB.
    public enum Detector: String, CaseIterable, Sendable {
        /// ``NoveltyDetector``: the detector the learn service runs on its series.
        case switchboard
        /// ``ContextualAnomalyDetector`` with NAB's parameters (CAD OSE), a reference point.
        case contextOSE
        /// Constant 0.5, NAB's baseline.
        case null
    }

    /// The anomaly scores of one series.
    public static func scores(_ series: NABSeries, detector: Detector) -> [Double] {
        let values = series.values
        guard let low = values.min(), let high = values.max() else { return [] }
        let probation = NABScorer.probationLength(rows: values.count)
        switch detector {
        case .switchboard:
            var model = NoveltyDetector(configuration: .init(probation: probation))
            return values.map { model.process($0) }
        case .contextOSE:
            var model = ContextualAnomalyDetector(range: low...high, restPeriod: probation / 5)
            return values.map { model.process($0) }
        case .null:
            return Array(repeating: 0.5, count: values.count)
        }
    }

    /// Scores every series, using all cores; results are in the order of `series`.
    public static func scores(_ series: [NABSeries], detector: Detector) -> [[Double]] {
        let results = ResultSlots(count: series.count)
        DispatchQueue.concurrentPerform(iterations: series.count) { index in
            results.set(index, scores(series[index], detector: detector))
        }
        return results.values
    }
}

/// Fixed slots written from concurrent iterations, each slot by exactly one of them.
final class ResultSlots: @unchecked Sendable {
    private var slots: [[Double]]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: [], count: count) }

    func set(_ index: Int, _ value: [Double]) {
        lock.lock()
        slots[index] = value
        lock.unlock()
    }

    var values: [[Double]] {
        lock.lock()
        defer { lock.unlock() }
        return slots
    }
}
