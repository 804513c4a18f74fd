/// One sample of the Prometheus text exposition format.
struct ExposedSample: Sendable, Equatable {
    let name: String
    /// Label pairs in exposition order.
    let labels: [(String, String)]
    let value: Double

    static func == (a: ExposedSample, b: ExposedSample) -> Bool {
        a.name == b.name && a.value.bitPattern == b.value.bitPattern && a.labels.elementsEqual(b.labels, by: { $0 == $1 })
    }
}

/// Parses the Prometheus text format (version 0.0.4): samples, `# TYPE` and `# HELP` lines.
struct PrometheusText {
    var samples: [ExposedSample] = []
    /// Metric family name → type (counter, gauge, histogram, summary, untyped).
    var types: [String: String] = [:]
    var help: [String: String] = [:]

    struct ParseError: Error, CustomStringConvertible {
        let line: Int
        let reason: String
        var description: String { "line \(line): \(reason)" }
    }

    init(_ text: String) throws(ParseError) {
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
}

extension String {
    func trimmingCharacters(in character: Character) -> String {
        var slice = Substring(self)
        while slice.first == character { slice = slice.dropFirst() }
        while slice.last == character { slice = slice.dropLast() }
        return String(slice)
    }
}
