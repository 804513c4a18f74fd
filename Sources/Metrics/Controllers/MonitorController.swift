import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SwitchboardCore

/// The monitoring hub's own pages: `GET /` (the HTML dashboard), `GET /federate` (the aggregated
/// exposition of every scraped series), and under `/v1`: `alerts` and `query` (PromQL subset).
struct MonitorController: Sendable {
    let store: SeriesStore
    let scraper: Scraper
    let alerts: AlertEvaluator
    let dashboard: DashboardDefinition?
    let clock: @Sendable () -> Double

    func addRoutes(to router: Router<ServiceRequestContext>, internal group: RouterGroup<ServiceRequestContext>) {
        router.get("/") { _, _ in
            let now = clock()
            let page = DashboardPage(
                definition: dashboard ?? DashboardDefinition(title: "Switchboard", panels: []), evaluator: PromQLEvaluator(store: store),
                targets: scraper.targets, alerts: alerts.alerts, now: now, window: min(store.retention, 1800), step: 30
            )
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: page.render())))
        }
        router.get("federate") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: federation()))
            )
        }
        group.get("alerts") { _, _ in
            Response.json([
                "alerts": .array(alerts.alerts.map(\.json)),
                "rules": .array(alerts.rules.map { rule in
                    ["name": .string(rule.name), "expr": .string(rule.expressionText), "for_seconds": .double(rule.holdFor),
                     "error": alerts.ruleErrors[rule.name].map(JSONValue.string) ?? .null]
                }),
            ])
        }
        group.get("query") { request, _ in
            guard let query = request.uri.queryParameters.get("query") else { throw ServiceError(.badRequest, "missing query parameter 'query'") }
            let time = request.uri.queryParameters.get("time").flatMap(Double.init) ?? clock()
            do {
                return Response.json(Self.prometheusAnswer(try PromQLEvaluator(store: store).evaluate(query, at: time), at: time))
            } catch {
                throw ServiceError(.badRequest, "query: \(error)")
            }
        }
    }

    /// The newest point of every series as one exposition, one TYPE line per family.
    func federation() -> String {
        var text = ""
        var lastFamily = ""
        for (key, point) in store.latest() {
            let family = Self.family(of: key.name)
            if family != lastFamily {
                text += "# TYPE \(family) \(store.type(of: family) ?? "untyped")\n"
                lastFamily = family
            }
            text += "\(key) \(Self.number(point.value)) \(Int64(point.time * 1000))\n"
        }
        return text
    }

    static func family(of name: String) -> String {
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            return String(name.dropLast(suffix.count))
        }
        return name
    }

    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value == .infinity { return "+Inf" }
        if value == -.infinity { return "-Inf" }
        return value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    /// The Prometheus HTTP API's shape, so the same tooling can read it.
    static func prometheusAnswer(_ value: QueryValue, at time: Double) -> JSONValue {
        func metric(_ sample: VectorSample) -> JSONValue {
            var members: [(key: String, value: JSONValue)] = sample.name.map { [("__name__", .string($0))] } ?? []
            members += sample.labels.map { ($0.name, .string($0.value)) }
            return .object(members)
        }
        let data: JSONValue
        switch value {
        case .vector(let samples):
            data = ["resultType": "vector", "result": .array(samples.map { ["metric": metric($0), "value": [.double(time), .string(number($0.value))]] })]
        case .scalar(let scalar):
            data = ["resultType": "scalar", "result": [.double(time), .string(number(scalar))]]
        case .string(let text):
            data = ["resultType": "string", "result": [.double(time), .string(text)]]
        case .matrix(let series):
            data = [
                "resultType": "matrix",
                "result": .array(series.map { key, points in
                    ["metric": metric(VectorSample(name: key.name, labels: key.labels, value: 0)),
                     "values": .array(points.map { [.double($0.time), .string(number($0.value))] })]
                }),
            ]
        }
        return ["status": "success", "data": data]
    }
}
