import ArgumentParser
import Foundation
import Learning

/// `LearnEval nab-run`: runs a detector over a NAB-layout data directory and writes NAB-layout results.
struct NABRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nab-run",
        abstract: "Run a detector over <data>/<category>/<file>.csv and write <out>/<category>/<detector>_<file>.csv (timestamp,value,anomaly_score)."
    )

    @Option(help: "NAB-layout data directory (holds <category>/<file>.csv)") var data: String
    @Option(help: "Results directory") var out: String
    @Option(help: "Detector: \(NABRunner.Detector.allCases.map(\.rawValue).joined(separator: ", "))") var detector: String = "switchboard"

    func run() throws {
        guard let kind = NABRunner.Detector(rawValue: detector) else { throw ValidationError("unknown detector '\(detector)'") }
        let series = try NABCorpus.loadSeries(dataDirectory: URL(fileURLWithPath: data))
        let started = Date()
        let scores = NABRunner.scores(series, detector: kind)
        let output = URL(fileURLWithPath: out).appendingPathComponent(kind.rawValue)
        for (entry, values) in zip(series, scores) {
            try NABCorpus.writeResult(output, detector: kind.rawValue, series: entry, scores: values)
        }
        let rows = series.reduce(0) { $0 + $1.values.count }
        print("\(kind.rawValue): \(series.count) files, \(rows) rows in \(String(format: "%.1f", Date().timeIntervalSince(started))) s → \(output.path)")
    }
}

/// `LearnEval nab-score`: scores NAB-layout results against a label file.
struct NABScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "nab-score", abstract: "Score NAB-layout results with the Swift NAB scorer.")

    @Option(help: "NAB-layout data directory") var data: String
    @Option(help: "combined_windows.json") var windows: String
    @Option(help: "Directory holding <category>/<detector>_<file>.csv") var results: String
    @Option(help: "Detector name used in the result file names") var detector: String
    @Flag(help: "Print every file's score") var files = false

    func run() throws {
        let series = try NABCorpus.loadSeries(dataDirectory: URL(fileURLWithPath: data))
        let labels = try NABCorpus.loadWindows(URL(fileURLWithPath: windows))
        var corpus: [(file: NABFile, scores: [Double])] = []
        for entry in series {
            guard let windows = labels[entry.name] else { continue }
            let scores = try NABCorpus.readScores(URL(fileURLWithPath: results), detector: detector, series: entry)
            corpus.append((try NABCorpus.file(entry, windows: windows), scores))
        }
        for profile in NABProfile.all {
            let result = NABScorer.score(corpus, profile: profile)
            print(NABReport.line(detector, result))
            if files {
                for file in result.files {
                    print(String(format: "    %-60@ %7.3f  windows %d/%d  fp %d", file.name, file.score.score, file.score.detectedWindows, file.score.windows, file.score.falsePositives))
                }
            }
        }
    }
}

enum NABReport {
    static func line(_ detector: String, _ result: NABResult) -> String {
        String(
            format: "%@ %@: %.1f (raw %.3f, θ=%.6f, windows %d/%d, false positives %d)", detector, result.profile.name, result.normalized,
            result.rawScore, result.threshold, result.detectedWindows, result.windows, result.falsePositives
        )
    }
}
