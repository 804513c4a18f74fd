import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Prometheus
import SwitchboardCore

/// Sends alert transitions to webhooks, with retries and backoff:
/// `slack=<url>` gets a Slack-compatible `{"text":…}` message, `alertmanager=<url>` the Alertmanager
/// webhook JSON (version 4).
struct WebhookNotifier: Sendable {
    enum Format: String, Sendable {
        case slack, alertmanager
    }

    struct Endpoint: Sendable {
        let format: Format
        let url: String
    }

    let endpoints: [Endpoint]
    let http: HTTPClientService
    let logger: Logger
    let attempts: Int
    let backoff: Duration
    let sent: Counter
    let failed: Counter

    init(entries: [String], http: HTTPClientService, metrics: ServiceMetrics, logger: Logger, attempts: Int = 4, backoff: Duration = .milliseconds(500)) throws(ConfigurationError) {
        endpoints = try entries.map { entry throws(ConfigurationError) -> Endpoint in
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let format = Format(rawValue: parts[0]), parts[1].hasPrefix("http") else {
                throw ConfigurationError(description: "invalid entry '\(entry)' in SWITCHBOARD_ALERT_WEBHOOKS: expected slack=<url> or alertmanager=<url>")
            }
            return Endpoint(format: format, url: parts[1])
        }
        self.http = http
        self.logger = logger
        self.attempts = attempts
        self.backoff = backoff
        sent = metrics.registry.makeCounter(
            descriptor: .init(namespace: "switchboard", subsystem: "alerts", metricName: "notifications", unitName: "total", helpText: "Alert notifications delivered")
        )
        failed = metrics.registry.makeCounter(
            descriptor: .init(namespace: "switchboard", subsystem: "alerts", metricName: "notification_failures", unitName: "total", helpText: "Alert notifications given up after retries")
        )
    }

    func send(_ alerts: [Alert]) async {
        await withTaskGroup(of: Void.self) { group in
            for endpoint in endpoints {
                let body = endpoint.format == .slack ? Self.slack(alerts) : Self.alertmanager(alerts)
                group.addTask { await deliver(body, to: endpoint) }
            }
        }
    }

    private func deliver(_ body: [UInt8], to endpoint: Endpoint) async {
        var delay = backoff
        for attempt in 1...attempts {
            var request = HTTPClientRequest(url: endpoint.url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
            do {
                let response = try await http.client.execute(request, timeout: .seconds(5))
                _ = try? await response.body.collect(upTo: 1 << 20)
                if (200..<300).contains(response.status.code) {
                    sent.increment()
                    return
                }
                logger.warning("alert webhook refused", metadata: ["url": .string(endpoint.url), "status": .stringConvertible(response.status.code), "attempt": .stringConvertible(attempt)])
            } catch {
                logger.warning("alert webhook failed", metadata: ["url": .string(endpoint.url), "error": .string("\(error)"), "attempt": .stringConvertible(attempt)])
            }
            if attempt < attempts {
                try? await Task.sleep(for: delay)
                delay *= 2
            }
        }
        failed.increment()
    }

    static func slack(_ alerts: [Alert]) -> [UInt8] {
        let lines = alerts.map { alert -> String in
            let summary = alert.annotations.first { $0.0 == "summary" }?.1 ?? alert.rule
            let where_ = alert.labels.filter { $0.0 != "alertname" }.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
            return "[\(alert.state == .resolved ? "RESOLVED" : "FIRING")] \(alert.rule): \(summary)\(where_.isEmpty ? "" : " (\(where_))")"
        }
        return JSONValue.object([("text", .string(lines.joined(separator: "\n")))]).jsonBytes
    }

    static func alertmanager(_ alerts: [Alert]) -> [UInt8] {
        let firing = alerts.contains { $0.state == .firing }
        let items: [JSONValue] = alerts.map { alert in
            [
                "status": .string(alert.state == .resolved ? "resolved" : "firing"),
                "labels": .object(alert.labels.map { ($0.0, .string($0.1)) }),
                "annotations": .object(alert.annotations.map { ($0.0, .string($0.1)) }),
                "startsAt": .string(rfc3339(alert.firedAt ?? alert.activeSince)),
                "endsAt": .string(alert.resolvedAt.map(rfc3339) ?? "0001-01-01T00:00:00Z"),
                "generatorURL": "",
                "fingerprint": .string(alert.fingerprint),
            ]
        }
        let common = alerts.first?.labels.filter { label in alerts.allSatisfy { $0.labels.contains { $0 == label } } } ?? []
        let document: JSONValue = [
            "version": "4",
            "groupKey": .string("{}:{alertname=\"\(alerts.first?.rule ?? "")\"}"),
            "status": .string(firing ? "firing" : "resolved"),
            "receiver": "switchboard",
            "groupLabels": ["alertname": .string(alerts.first?.rule ?? "")],
            "commonLabels": .object(common.map { ($0.0, .string($0.1)) }),
            "commonAnnotations": .object([]),
            "externalURL": "",
            "truncatedAlerts": 0,
            "alerts": .array(items),
        ]
        return document.jsonBytes
    }

    static func rfc3339(_ seconds: Double) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }
}
