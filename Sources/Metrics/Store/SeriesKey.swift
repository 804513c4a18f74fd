/// A time series' identity: metric name and label set (labels sorted by name).
struct SeriesKey: Hashable, Sendable, CustomStringConvertible {
    let name: String
    let labels: [Label]

    struct Label: Hashable, Sendable {
        let name: String
        let value: String
    }

    init(name: String, labels: [(String, String)]) {
        self.name = name
        self.labels = labels.map { Label(name: $0.0, value: $0.1) }.sorted { $0.name < $1.name }
    }

    init(name: String, sortedLabels: [Label]) {
        self.name = name
        self.labels = sortedLabels
    }

    subscript(label: String) -> String? {
        if label == "__name__" { return name }
        return labels.first { $0.name == label }?.value
    }

    /// `name{a="1",b="2"}`
    var description: String {
        labels.isEmpty ? name : "\(name){\(labelText)}"
    }

    var labelText: String {
        labels.map { "\($0.name)=\"\(SeriesKey.escape($0.value))\"" }.joined(separator: ",")
    }

    static func escape(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }
}
