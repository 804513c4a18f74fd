import Foundation
import Testing

@testable import Learning

/// The scorer against values worked out by hand from NAB's `sweeper.py`.
struct NABScorerTests {
    /// 100 rows (probation 15), one window over rows 40…49 (width 10).
    let file = NABFile(name: "test/a.csv", rowCount: 100, windows: [40...49])

    func scores(_ detections: [Int: Double]) -> [Double] {
        (0..<100).map { detections[$0] ?? 0 }
    }

    @Test func scaledSigmoidMatchesNAB() {
        #expect(abs(NABScorer.scaledSigmoid(-1) - 0.98661) < 1e-5)
        #expect(abs(NABScorer.scaledSigmoid(-0.5) - 0.84828) < 1e-5)
        #expect(NABScorer.scaledSigmoid(0) == 0)
        #expect(abs(NABScorer.scaledSigmoid(1) + 0.98661) < 1e-5)
        #expect(NABScorer.scaledSigmoid(3.5) == -1)
    }

    @Test func probationIsFifteenPercentCappedAt750() {
        #expect(NABScorer.probationLength(rows: 4032) == 604)
        #expect(NABScorer.probationLength(rows: 10_320) == 750)
        #expect(NABScorer.probationLength(rows: 100) == 15)
    }

    @Test func rowWeightsFollowTheWindowRules() {
        let rows = NABScorer.rows(for: file, scores: scores([:]), profile: .standard)
        #expect(rows.count == 85)
        let byIndex = Dictionary(uniqueKeysWithValues: rows.enumerated().map { ($0.offset + 15, $0.element) })
        // Before the first window: −A_FP.
        #expect(byIndex[20]!.weight == -0.11)
        #expect(byIndex[20]!.window == nil)
        // Earliest row of the window earns exactly A_TP; the last row σ(−0.1)/σ(−1).
        #expect(abs(byIndex[40]!.weight - 1) < 1e-12)
        #expect(abs(byIndex[49]!.weight - NABScorer.scaledSigmoid(-0.1) / NABScorer.scaledSigmoid(-1)) < 1e-12)
        #expect(byIndex[45]!.window == 0)
        // After the window: A_FP·σ(|i − r'|/(W' − 1)).
        #expect(abs(byIndex[59]!.weight - 0.11 * NABScorer.scaledSigmoid(10.0 / 9)) < 1e-12)
        #expect(abs(byIndex[50]!.weight - 0.11 * NABScorer.scaledSigmoid(1.0 / 9)) < 1e-12)
        #expect(byIndex[99]!.weight == -0.11)
    }

    @Test func sweepRecordsEveryThresholdWithTheBestDetectionPerWindow() {
        let rows = NABScorer.rows(for: file, scores: scores([45: 0.9, 41: 0.7, 20: 0.8]), profile: .standard)
        let sweep = NABScorer.sweep(rows, profile: .standard)
        let weight45 = NABScorer.scaledSigmoid(-5.0 / 10) / NABScorer.scaledSigmoid(-1)
        let weight41 = NABScorer.scaledSigmoid(-9.0 / 10) / NABScorer.scaledSigmoid(-1)
        #expect(sweep.count == 5)
        #expect(sweep[0].threshold == 1.1 && sweep[0].score == -1)
        #expect(sweep[1].threshold == 0.9 && abs(sweep[1].score - weight45) < 1e-12)
        #expect(sweep[2].threshold == 0.8 && abs(sweep[2].score - (weight45 - 0.11)) < 1e-12)
        // An earlier detection in the same window replaces the later one; extra detections cost nothing.
        #expect(sweep[3].threshold == 0.7 && abs(sweep[3].score - (weight41 - 0.11)) < 1e-12)
        // Every remaining row (score 0) detects: the 50 false positives before and after the window cost.
        #expect(sweep[4].threshold == 0)
    }

    @Test func corpusScoreChoosesTheBestThresholdAndNormalisesAgainstNullAndPerfect() {
        let other = NABFile(name: "test/b.csv", rowCount: 100, windows: [70...79])
        let corpus = [(file, scores([40: 0.6, 20: 0.95])), (other, scores([70: 0.6]))]
        let result = NABScorer.score(corpus, profile: .standard)
        // θ = 0.6 catches both windows at their first row (2.0) and one false positive (−0.11).
        #expect(result.threshold == 0.6)
        #expect(abs(result.rawScore - 1.89) < 1e-9)
        #expect(result.nullScore == -2)
        #expect(result.perfectScore == 2)
        #expect(abs(result.normalized - 100 * 3.89 / 4) < 1e-9)
        #expect(result.detectedWindows == 2)
        #expect(result.falsePositives == 1)
        // Low-FN doubles the cost of a miss: the null detector scores −4.
        #expect(NABScorer.score(corpus, profile: .rewardLowFN).nullScore == -4)
    }

    @Test func aFileWithoutWindowsPrefersDetectingNothing() {
        // Without windows every detection costs, so the sweep keeps θ = 1.1 (nothing detected).
        let quiet = NABFile(name: "test/c.csv", rowCount: 100, windows: [])
        let result = NABScorer.score([(quiet, scores([30: 0.5]))], profile: .standard)
        #expect(result.threshold == 1.1)
        #expect(result.rawScore == 0)
    }

    @Test func windowsInsideProbationAreNotScored() {
        let early = NABFile(name: "test/d.csv", rowCount: 100, windows: [2...10, 40...49])
        let result = NABScorer.score([(early, scores([40: 1]))], profile: .standard)
        #expect(result.windows == 1)
        #expect(result.perfectScore == 1)
    }

    @Test func corpusFilesResolveWindowTimestamps() throws {
        let series = NABSeries(name: "cat/x.csv", timestamps: ["2014-01-01 00:00:00", "2014-01-01 00:05:00", "2014-01-01 00:10:00"], values: [1, 2, 3])
        let file = try NABCorpus.file(series, windows: [("2014-01-01 00:05:00.000000", "2014-01-01 00:10:00.000000")])
        #expect(file.windows == [1...2])
        #expect(throws: NABFormatError.self) { try NABCorpus.file(series, windows: [("2015-01-01 00:00:00.000000", "2015-01-02 00:00:00.000000")]) }
    }
}
