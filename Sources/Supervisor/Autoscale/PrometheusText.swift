/// Reading the Prometheus text format.
enum PrometheusText {
    /// The sum of every sample of `metric` (over its label sets), or nil when there is none.
    static func sum(of metric: String, in text: String) -> Double? {
        var total: Double?
        for line in text.split(separator: "\n") where line.hasPrefix(metric) && !line.hasPrefix("#") {
            let rest = line.dropFirst(metric.count)
            guard let first = rest.first, first == " " || first == "{" else { continue }
            let valueStart: Substring.Index
            if first == "{" {
                guard let close = rest.lastIndex(of: "}") else { continue }
                valueStart = rest.index(after: close)
            } else {
                valueStart = rest.startIndex
            }
            let fields = rest[valueStart...].split(separator: " ")
            guard let text = fields.first, let value = Double(text) else { continue }
            total = (total ?? 0) + value
        }
        return total
    }
}
