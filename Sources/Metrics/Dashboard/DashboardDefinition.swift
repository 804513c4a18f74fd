import Foundation
import SwitchboardCore

/// The panels of the Grafana dashboard file, which the built-in HTML dashboard renders too, so
/// both show the same queries.
struct DashboardDefinition: Sendable {
    struct Panel: Sendable {
        let title: String
        let unit: String
        let queries: [(expression: String, legend: String)]
    }

    let title: String
    let panels: [Panel]

    static func load(path: String) throws(PromQLError) -> DashboardDefinition {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw PromQLError("cannot read dashboard \(path): \((error as NSError).localizedDescription)")
        }
        let document: JSONValue
        do {
            document = try JSONParser.parse(Array(data))
        } catch {
            throw PromQLError("dashboard \(path): \(error)")
        }
        var panels: [Panel] = []
        func collect(_ items: [JSONValue]) {
            for item in items {
                if let nested = item["panels"]?.arrayValue { collect(nested) }
                guard let targets = item["targets"]?.arrayValue, !targets.isEmpty else { continue }
                panels.append(Panel(
                    title: item["title"]?.stringValue ?? "",
                    unit: item["fieldConfig"]?["defaults"]?["unit"]?.stringValue ?? "",
                    queries: targets.compactMap { target in
                        target["expr"]?.stringValue.map { ($0, target["legendFormat"]?.stringValue ?? "") }
                    }
                ))
            }
        }
        collect(document["panels"]?.arrayValue ?? [])
        return DashboardDefinition(title: document["title"]?.stringValue ?? "Switchboard", panels: panels)
    }

    /// `{{service}}`-style legend templates.
    static func legend(_ template: String, _ sample: VectorSample) -> String {
        guard !template.isEmpty else {
            let labels = sample.labels.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
            return labels.isEmpty ? (sample.name ?? "value") : labels
        }
        var text = template
        for label in sample.labels {
            text = text.replacingOccurrences(of: "{{\(label.name)}}", with: label.value)
            text = text.replacingOccurrences(of: "{{ \(label.name) }}", with: label.value)
        }
        return text
    }
}
