import Foundation
import SwitchboardCore

/// Renders the whole stack on one HTML page: targets, firing alerts, and every dashboard panel as a
/// server-rendered SVG chart of the recent history.
struct DashboardPage {
    let definition: DashboardDefinition
    let evaluator: PromQLEvaluator
    let targets: [Scraper.TargetStatus]
    let alerts: [Alert]
    let now: Double
    /// Seconds of history shown.
    let window: Double
    let step: Double

    static let palette = ["#2f6fdf", "#e4572e", "#17a398", "#f3a712", "#8e44ad", "#6c757d", "#c0392b", "#27ae60"]

    func render() -> String {
        var html = """
            <!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="15">
            <title>\(escape(definition.title))</title><style>
            body{font:14px system-ui,sans-serif;margin:20px;color:#222;background:#fafafa}h1{font-size:20px}h2{font-size:15px;margin:4px 0}
            .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(460px,1fr));gap:14px}
            .panel{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px}table{border-collapse:collapse}
            td,th{padding:3px 10px;text-align:left;border-bottom:1px solid #eee}.up{color:#17a398}.down{color:#c0392b}
            .firing{color:#c0392b;font-weight:600}.pending{color:#f3a712}.legend span{margin-right:12px;font-size:12px}
            .empty{color:#999;font-size:12px}</style></head><body>
            <h1>\(escape(definition.title))</h1>
            """
        html += "<div class=\"panel\"><h2>Targets</h2><table><tr><th>service</th><th>replica</th><th>address</th><th>state</th><th>scrape</th></tr>"
        for target in targets {
            let state = target.up ? "<span class=up>up</span>" : "<span class=down>down</span>"
            html += "<tr><td>\(escape(target.target.service))</td><td>\(target.target.replica)</td><td>\(escape(target.target.address))</td><td>\(state)</td>"
            html += "<td>\(target.error.map(escape) ?? String(format: "%.1f ms", target.duration * 1000))</td></tr>"
        }
        html += "</table></div><div class=\"panel\"><h2>Alerts</h2>"
        let live = alerts.filter { $0.state != .resolved }
        if live.isEmpty {
            html += "<p class=empty>no alert is pending or firing</p>"
        } else {
            html += "<table><tr><th>alert</th><th>state</th><th>labels</th><th>summary</th></tr>"
            for alert in live {
                let labels = alert.labels.filter { $0.0 != "alertname" }.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
                let summary = alert.annotations.first { $0.0 == "summary" }?.1 ?? ""
                html += "<tr><td>\(escape(alert.rule))</td><td class=\(alert.state.rawValue)>\(alert.state.rawValue)</td><td>\(escape(labels))</td><td>\(escape(summary))</td></tr>"
            }
            html += "</table>"
        }
        html += "</div><div class=\"grid\">"
        for panel in definition.panels { html += chart(panel) }
        html += "</div></body></html>"
        return html
    }

    /// One panel: a range evaluation of each query, drawn as polylines.
    func chart(_ panel: DashboardDefinition.Panel) -> String {
        var lines: [(name: String, points: [(Double, Double)])] = []
        var problem: String?
        var index: [String: Int] = [:]
        var time = now - window
        while time <= now {
            for query in panel.queries {
                do {
                    guard case .vector(let samples) = try evaluator.evaluate(query.expression, at: time) else { continue }
                    for sample in samples where sample.value.isFinite {
                        let name = DashboardDefinition.legend(query.legend, sample)
                        if index[name] == nil {
                            index[name] = lines.count
                            lines.append((name, []))
                        }
                        lines[index[name]!].points.append((time, sample.value))
                    }
                } catch {
                    problem = error.description
                }
            }
            time += step
        }
        let width = 440.0
        let height = 150.0
        var svg = "<div class=\"panel\"><h2>\(escape(panel.title))</h2>"
        guard !lines.isEmpty else {
            return svg + "<p class=empty>\(escape(problem ?? "no data yet"))</p></div>"
        }
        let values = lines.flatMap { $0.points.map(\.1) }
        let low = min(0, values.min() ?? 0)
        var high = values.max() ?? 1
        if high <= low { high = low + 1 }
        svg += "<svg width=\"\(Int(width))\" height=\"\(Int(height + 20))\" viewBox=\"0 0 \(Int(width)) \(Int(height + 20))\" role=\"img\">"
        svg += "<line x1=\"40\" y1=\"\(height)\" x2=\"\(width)\" y2=\"\(height)\" stroke=\"#ccc\"/>"
        svg += "<text x=\"0\" y=\"12\" font-size=\"10\">\(escape(format(high, unit: panel.unit)))</text>"
        svg += "<text x=\"0\" y=\"\(Int(height))\" font-size=\"10\">\(escape(format(low, unit: panel.unit)))</text>"
        for (offset, line) in lines.enumerated() {
            let color = Self.palette[offset % Self.palette.count]
            let coordinates = line.points.map { point -> String in
                let x = 40 + (point.0 - (now - window)) / window * (width - 40)
                let y = height - (point.1 - low) / (high - low) * (height - 5)
                return String(format: "%.1f,%.1f", x, y)
            }
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" points=\"\(coordinates.joined(separator: " "))\"/>"
        }
        svg += "<text x=\"40\" y=\"\(Int(height + 15))\" font-size=\"10\">−\(Int(window / 60)) min</text>"
        svg += "<text x=\"\(Int(width - 30))\" y=\"\(Int(height + 15))\" font-size=\"10\">now</text></svg><div class=\"legend\">"
        for (offset, line) in lines.enumerated() {
            let last = line.points.last.map { format($0.1, unit: panel.unit) } ?? ""
            svg += "<span style=\"color:\(Self.palette[offset % Self.palette.count])\">■ \(escape(line.name)) \(escape(last))</span>"
        }
        return svg + "</div></div>"
    }

    func format(_ value: Double, unit: String) -> String {
        switch unit {
        case "s": return value < 1 ? String(format: "%.1f ms", value * 1000) : String(format: "%.2f s", value)
        case "percentunit": return String(format: "%.1f%%", value * 100)
        case "bytes": return Units.formatBytes(Int64(value))
        case "reqps", "ops": return String(format: "%.2f/s", value)
        default: return abs(value) >= 100 || value == value.rounded() ? String(format: "%.0f", value) : String(format: "%.3g", value)
        }
    }

    func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }
}
