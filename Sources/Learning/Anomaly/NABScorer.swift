import Foundation

/// The Numenta Anomaly Benchmark's scoring, re-implemented from `nab/sweeper.py`, `nab/optimizer.py`,
/// `nab/scorer.py` and `nab/runner.py` (NAB v1.1, numenta/NAB@ea702d7):
///
/// 1. the first `min(floor(0.15·n), 750)` rows of a file are probation and not scored;
/// 2. a row inside a window `[l, r]` of width `W` weighs `A_TP·σ(−(r − i + 1)/W)/σ(−1)`; a row before the
///    file's first window weighs `−A_FP`; a row after a window ending at `r'` of width `W'` weighs
///    `A_FP·σ(|i − r'|/(W' − 1))`, with the scaled sigmoid `σ(y) = 2/(1 + e^{5y}) − 1` (−1 beyond y = 3);
/// 3. at threshold θ a row with score ≥ θ is a detection; a window contributes the best weight of its
///    detections, or `−A_FN` without one; detections outside windows add their weight;
/// 4. one θ per profile is chosen by sweeping every distinct score of the corpus (ties keep the higher θ);
/// 5. `NAB = 100·(S − S_null)/(S_perfect − S_null)` with `S_perfect = A_TP·windows` and `S_null` the score of
///    the null detector (constant 0.5), which is `−A_FN·windows`.
public enum NABScorer {
    /// NAB's scaled sigmoid of a relative position.
    public static func scaledSigmoid(_ position: Double) -> Double {
        position > 3 ? -1 : 2 / (1 + exp(5 * position)) - 1
    }

    /// Rows at the start of a file that are not scored.
    public static func probationLength(rows: Int) -> Int {
        min(Int((0.15 * Double(rows)).rounded(.down)), 750)
    }

    /// One scorable row: its weight if it were a detection, and the window it lies in.
    public struct Row: Sendable {
        public let score: Double
        public let weight: Double
        /// Index into the corpus's windows, or nil outside every window.
        public let window: Int?
    }

    /// The scorable rows of one file: probation dropped, each row weighted for `profile`.
    /// - Parameter windowBase: the corpus index of this file's first window.
    public static func rows(for file: NABFile, scores: [Double], profile: NABProfile, windowBase: Int = 0) -> [Row] {
        precondition(scores.count == file.rowCount, "\(file.name): \(scores.count) scores for \(file.rowCount) rows")
        let maxTP = scaledSigmoid(-1)
        let probation = probationLength(rows: file.rowCount)
        var result: [Row] = []
        result.reserveCapacity(max(0, file.rowCount - probation))
        var windowIndex = 0
        var previous: (right: Int, width: Double)?
        for i in 0..<file.rowCount {
            // Move past windows that ended before this row.
            while windowIndex < file.windows.count, file.windows[windowIndex].upperBound < i {
                let window = file.windows[windowIndex]
                previous = (window.upperBound, Double(window.count))
                windowIndex += 1
            }
            let weight: Double
            var window: Int?
            if windowIndex < file.windows.count, file.windows[windowIndex].contains(i) {
                let limits = file.windows[windowIndex]
                let position = -Double(limits.upperBound - i + 1) / Double(limits.count)
                weight = scaledSigmoid(position) * profile.truePositiveWeight / maxTP
                window = windowBase + windowIndex
            } else if let previous {
                weight = scaledSigmoid(Double(abs(i - previous.right)) / (previous.width - 1)) * profile.falsePositiveWeight
            } else {
                weight = -profile.falsePositiveWeight
            }
            if i >= probation { result.append(Row(score: scores[i], weight: weight, window: window)) }
        }
        return result
    }

    /// The corpus score at every distinct threshold, highest threshold first (NAB's `calcScoreByThreshold`).
    /// - Parameter windows: windows whose rows appear in `rows` (the others cannot be scored and are not counted).
    public static func sweep(_ rows: [Row], profile: NABProfile) -> [(threshold: Double, score: Double)] {
        let ordered = rows.sorted { $0.score > $1.score }
        var best: [Int: Double] = [:]
        for row in ordered { if let window = row.window { best[window] = -profile.falseNegativeWeight } }
        var total = -profile.falseNegativeWeight * Double(best.count)
        var result: [(threshold: Double, score: Double)] = []
        var threshold = 1.1
        for row in ordered {
            if row.score != threshold {
                result.append((threshold, total))
                threshold = row.score
            }
            if let window = row.window {
                let current = best[window]!
                if row.weight > current {
                    total += row.weight - current
                    best[window] = row.weight
                }
            } else {
                total += row.weight
            }
        }
        result.append((threshold, total))
        return result
    }

    /// A file's score at threshold θ, with its counts.
    public static func evaluate(_ rows: [Row], threshold: Double, profile: NABProfile) -> NABFileScore {
        var best: [Int: Double] = [:]
        var score = 0.0
        var falsePositives = 0
        var detections = 0
        for row in rows {
            if let window = row.window {
                let current = best[window] ?? -profile.falseNegativeWeight
                best[window] = row.score >= threshold ? max(current, row.weight) : current
            } else if row.score >= threshold {
                score += row.weight
                falsePositives += 1
            }
            if row.score >= threshold { detections += 1 }
        }
        let detected = best.values.filter { $0 != -profile.falseNegativeWeight }.count
        score += best.values.reduce(0, +)
        return NABFileScore(score: score, windows: best.count, detectedWindows: detected, falsePositives: falsePositives, detections: detections)
    }

    /// Scores a whole corpus for one profile: the best threshold, the raw and normalised score.
    public static func score(_ corpus: [(file: NABFile, scores: [Double])], profile: NABProfile) -> NABResult {
        var allRows: [Row] = []
        var perFile: [[Row]] = []
        var windowBase = 0
        for (file, scores) in corpus {
            let rows = rows(for: file, scores: scores, profile: profile, windowBase: windowBase)
            windowBase += file.windows.count
            perFile.append(rows)
            allRows.append(contentsOf: rows)
        }
        let sweep = sweep(allRows, profile: profile)
        var chosen = sweep[0]
        for entry in sweep.dropFirst() where entry.score > chosen.score { chosen = entry }
        let files = zip(corpus, perFile).map { entry, rows in (entry.file.name, evaluate(rows, threshold: chosen.threshold, profile: profile)) }
        let windows = files.reduce(0) { $0 + $1.1.windows }
        let nullScore = Self.nullScore(corpus.map(\.file), profile: profile)
        let perfect = profile.truePositiveWeight * Double(windows)
        return NABResult(
            profile: profile, threshold: chosen.threshold, rawScore: chosen.score, nullScore: nullScore, perfectScore: perfect,
            files: files.map { NABResult.FileEntry(name: $0.0, score: $0.1) }
        )
    }

    /// The null detector's corpus score: constant 0.5 everywhere, its best threshold.
    public static func nullScore(_ files: [NABFile], profile: NABProfile) -> Double {
        var rows: [Row] = []
        var base = 0
        for file in files {
            rows += Self.rows(for: file, scores: Array(repeating: 0.5, count: file.rowCount), profile: profile, windowBase: base)
            base += file.windows.count
        }
        return sweep(rows, profile: profile).map(\.score).max() ?? 0
    }
}

/// A profile of NAB's cost matrix (`config/profiles.json`).
public struct NABProfile: Sendable, Hashable {
    public let name: String
    public let truePositiveWeight: Double
    public let falsePositiveWeight: Double
    public let falseNegativeWeight: Double

    public static let standard = NABProfile(name: "standard", truePositiveWeight: 1, falsePositiveWeight: 0.11, falseNegativeWeight: 1)
    public static let rewardLowFP = NABProfile(name: "reward_low_FP_rate", truePositiveWeight: 1, falsePositiveWeight: 0.22, falseNegativeWeight: 1)
    public static let rewardLowFN = NABProfile(name: "reward_low_FN_rate", truePositiveWeight: 1, falsePositiveWeight: 0.11, falseNegativeWeight: 2)
    public static let all = [standard, rewardLowFP, rewardLowFN]
}

/// One data file as the scorer sees it: its length and its labelled windows as inclusive row ranges.
public struct NABFile: Sendable {
    /// `category/name.csv`, as in NAB's label files.
    public let name: String
    public let rowCount: Int
    public let windows: [ClosedRange<Int>]

    public init(name: String, rowCount: Int, windows: [ClosedRange<Int>]) {
        self.name = name
        self.rowCount = rowCount
        self.windows = windows.sorted { $0.lowerBound < $1.lowerBound }
    }
}

/// A file's score at the chosen threshold.
public struct NABFileScore: Sendable {
    public let score: Double
    /// Windows with at least one scorable row.
    public let windows: Int
    public let detectedWindows: Int
    public let falsePositives: Int
    public let detections: Int
}

/// A detector's result for one profile.
public struct NABResult: Sendable {
    public struct FileEntry: Sendable {
        public let name: String
        public let score: NABFileScore
    }

    public let profile: NABProfile
    public let threshold: Double
    public let rawScore: Double
    public let nullScore: Double
    public let perfectScore: Double
    public let files: [FileEntry]

    /// `100·(S − S_null)/(S_perfect − S_null)`.
    public var normalized: Double { 100 * (rawScore - nullScore) / (perfectScore - nullScore) }
    public var detectedWindows: Int { files.reduce(0) { $0 + $1.score.detectedWindows } }
    public var windows: Int { files.reduce(0) { $0 + $1.score.windows } }
    public var falsePositives: Int { files.reduce(0) { $0 + $1.score.falsePositives } }
}
