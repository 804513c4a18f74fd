/// One sample of the Prometheus text exposition format.
public struct ExposedSample: Sendable, Equatable {
    public let name: String
    /// Label pairs in exposition order.
    public let labels: [(String, String)]
    public let value: Double

    public init(name: String, labels: [(String, String)], value: Double) {
        self.name = name
        self.labels = labels
        self.value = value
    }

    public static func == (a: ExposedSample, b: ExposedSample) -> Bool {
        a.name == b.name && a.value.bitPattern == b.value.bitPattern && a.labels.elementsEqual(b.labels, by: { $0 == $1 })
    }
}

/// Parses the Prometheus text format (version 0.0.4): samples, `# TYPE` and `# HELP` lines.
public struct PrometheusText: Sendable {
    public var samples: [ExposedSample] = []
    /// Metric family name → type (counter, gauge, histogram, summary, untyped).
    public var types: [String: String] = [:]
    public var help: [String: String] = [:]

    public struct ParseError: Error, CustomStringConvertible {
        public let line: Int
        public let reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    public init(_ text: String) throws(ParseError) {
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: true) {
            lineNumber += 1
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: true)
                if parts.count >= 3, parts[1] == "TYPE" { types[String(parts[2])] = parts.count > 3 ? String(parts[3]) : "untyped" }
                if parts.count >= 3, parts[1] == "HELP" { help[String(parts[2])] = parts.count > 3 ? String(parts[3]) : "" }
                continue
            }
            samples.append(try Self.sample(Substring(line), line: lineNumber))
        }
    }

    private static func sample(_ line: Substring, line lineNumber: Int) throws(ParseError) -> ExposedSample {
        var index = line.startIndex
        while index < line.endIndex, line[index] != "{", line[index] != " ", line[index] != "\t" { index = line.index(after: index) }
        let name = String(line[line.startIndex..<index])
        guard !name.isEmpty else { throw ParseError(line: lineNumber, reason: "missing metric name") }
        var labels: [(String, String)] = []
        if index < line.endIndex, line[index] == "{" {
            index = line.index(after: index)
            while true {
                while index < line.endIndex, line[index] == " " || line[index] == "," { index = line.index(after: index) }
                guard index < line.endIndex else { throw ParseError(line: lineNumber, reason: "unterminated label set") }
                if line[index] == "}" {
                    index = line.index(after: index)
                    break
                }
                let nameStart = index
                while index < line.endIndex, line[index] != "=" { index = line.index(after: index) }
                guard index < line.endIndex else { throw ParseError(line: lineNumber, reason: "label without value") }
                let labelName = String(line[nameStart..<index]).trimmingCharacters(in: " ")
                index = line.index(after: index)
                guard index < line.endIndex, line[index] == "\"" else { throw ParseError(line: lineNumber, reason: "label value must be quoted") }
                index = line.index(after: index)
                var value = ""
                var closed = false
                while index < line.endIndex {
                    let character = line[index]
                    index = line.index(after: index)
                    if character == "\\", index < line.endIndex {
                        let escaped = line[index]
                        index = line.index(after: index)
                        switch escaped {
                        case "n": value.append("\n")
                        case "\\": value.append("\\")
                        case "\"": value.append("\"")
                        default: value.append("\\"); value.append(escaped)
                        }
                    } else if character == "\"" {
                        closed = true
                        break
                    } else {
                        value.append(character)
                    }
                }
                guard closed else { throw ParseError(line: lineNumber, reason: "unterminated label value") }
                labels.append((labelName, value))
            }
        }
        let rest = line[index...].split(separator: " ", omittingEmptySubsequences: true)
        guard let valueText = rest.first else { throw ParseError(line: lineNumber, reason: "missing value") }
        let value: Double
        switch valueText {
        case "+Inf": value = .infinity
        case "-Inf": value = -.infinity
        case "NaN": value = .nan
        default:
            guard let parsed = Double(valueText) else { throw ParseError(line: lineNumber, reason: "invalid value '\(valueText)'") }
            value = parsed
        }
        return ExposedSample(name: name, labels: labels, value: value)
    }

    /// The sum of every sample named `metric` (over its label sets) in `text`; nil when there is none
    /// or the text does not parse.
    public static func sum(of metric: String, in text: String) -> Double? {
        let values = ((try? PrometheusText(text))?.samples ?? []).filter { $0.name == metric }.map(\.value)
        return values.isEmpty ? nil : values.reduce(0, +)
    }
}
