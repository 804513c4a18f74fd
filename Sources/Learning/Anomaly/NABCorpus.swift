import Foundation

/// One NAB data file: `timestamp,value` rows.
public struct NABSeries: Sendable {
    /// `category/name.csv`, the key NAB's label files use.
    public let name: String
    public let timestamps: [String]
    public let values: [Double]

    public init(name: String, timestamps: [String], values: [Double]) {
        self.name = name
        self.timestamps = timestamps
        self.values = values
    }

    public var category: String { String(name.split(separator: "/").first ?? "") }
    public var fileName: String { String(name.split(separator: "/").last ?? "") }
}

/// Why a NAB directory or label file could not be read.
public struct NABFormatError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Reads and writes NAB's layouts: `data/<category>/<name>.csv`, `labels/combined_windows.json`, and
/// results as `<out>/<category>/<detector>_<name>.csv` with `timestamp,value,anomaly_score`.
public enum NABCorpus {
    /// Every `<category>/<name>.csv` below `directory`, sorted by name.
    public static func loadSeries(dataDirectory directory: URL) throws -> [NABSeries] {
        let manager = FileManager.default
        guard let categories = try? manager.contentsOfDirectory(atPath: directory.path) else {
            throw NABFormatError("\(directory.path): not a readable directory")
        }
        var series: [NABSeries] = []
        for category in categories.sorted() {
            let folder = directory.appendingPathComponent(category)
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else { continue }
            for file in try manager.contentsOfDirectory(atPath: folder.path).sorted() where file.hasSuffix(".csv") {
                series.append(try readSeries(folder.appendingPathComponent(file), name: "\(category)/\(file)"))
            }
        }
        if series.isEmpty { throw NABFormatError("\(directory.path): no <category>/<name>.csv files") }
        return series
    }

    /// Reads a `timestamp,value[,…]` CSV with a header line.
    public static func readSeries(_ url: URL, name: String, valueColumn: Int = 1) throws -> NABSeries {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { throw NABFormatError("\(url.path): cannot read") }
        var timestamps: [String] = []
        var values: [Double] = []
        for (number, line) in text.split(whereSeparator: \.isNewline).enumerated() where number > 0 {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count > valueColumn, let value = Double(fields[valueColumn].trimmingCharacters(in: .whitespaces)) else {
                throw NABFormatError("\(url.path):\(number + 1): expected timestamp,value with a number, got '\(line.prefix(80))'")
            }
            timestamps.append(String(fields[0]))
            values.append(value)
        }
        return NABSeries(name: name, timestamps: timestamps, values: values)
    }

    /// `combined_windows.json`: file name → windows as `[start, end]` timestamps.
    public static func loadWindows(_ url: URL) throws -> [String: [(String, String)]] {
        guard let data = try? Data(contentsOf: url) else { throw NABFormatError("\(url.path): cannot read") }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: [[String]]] else {
            throw NABFormatError("\(url.path): expected {\"<category>/<file>.csv\": [[start, end], …]}")
        }
        return object.mapValues { windows in windows.compactMap { $0.count == 2 ? ($0[0], $0[1]) : nil } }
    }

    /// The scorer's view of a series: window timestamps resolved to row indices.
    public static func file(_ series: NABSeries, windows: [(String, String)]) throws -> NABFile {
        var index: [String: Int] = [:]
        for (row, timestamp) in series.timestamps.enumerated() { index[timestamp] = row }
        let ranges = try windows.map { start, end -> ClosedRange<Int> in
            guard let first = index[trimFraction(start)], let last = index[trimFraction(end)], first <= last else {
                throw NABFormatError("\(series.name): window \(start) … \(end) does not match the file's timestamps")
            }
            return first...last
        }
        return NABFile(name: series.name, rowCount: series.values.count, windows: ranges)
    }

    /// `2014-02-19 10:50:00.000000` → `2014-02-19 10:50:00`.
    static func trimFraction(_ timestamp: String) -> String {
        guard let dot = timestamp.lastIndex(of: "."), timestamp.distance(from: timestamp.startIndex, to: dot) >= 19 else { return timestamp }
        return String(timestamp[..<dot])
    }

    /// Where NAB keeps a detector's result for a series: `<out>/<category>/<detector>_<name>.csv`.
    public static func resultURL(_ output: URL, detector: String, series name: String) -> URL {
        let parts = name.split(separator: "/")
        return output.appendingPathComponent(String(parts[0])).appendingPathComponent("\(detector)_\(parts.last!)")
    }

    /// Writes `timestamp,value,anomaly_score` for one series.
    public static func writeResult(_ output: URL, detector: String, series: NABSeries, scores: [Double]) throws {
        let url = resultURL(output, detector: detector, series: series.name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        var text = "timestamp,value,anomaly_score\n"
        text.reserveCapacity(series.values.count * 40)
        for (row, score) in scores.enumerated() {
            text += "\(series.timestamps[row]),\(format(series.values[row])),\(score)\n"
        }
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    /// Reads the `anomaly_score` column of a detector's result for `series`.
    public static func readScores(_ output: URL, detector: String, series: NABSeries) throws -> [Double] {
        let url = resultURL(output, detector: detector, series: series.name)
        let result = try readSeries(url, name: series.name, valueColumn: 2)
        guard result.values.count == series.values.count else {
            throw NABFormatError("\(url.path): \(result.values.count) rows, the data file has \(series.values.count)")
        }
        return result.values
    }

    /// A value as NAB's files write it: integers without a fraction.
    static func format(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
