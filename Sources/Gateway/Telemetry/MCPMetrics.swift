import Prometheus
import SwitchboardCore

/// The gateway's MCP metrics. Every series is created up front, so recording never takes a lock.
final class MCPMetrics: Sendable {
    /// Methods counted by name; anything else is counted as `other`.
    static let methods = [
        "initialize", "ping", "logging/setLevel", "server/discover", "tools/list", "tools/call", "subscriptions/listen",
        "notifications/initialized", "notifications/cancelled",
    ]
    /// Kinds of server-sent-event streams.
    enum Stream: String, CaseIterable {
        /// A POST answered with SSE because notifications flow.
        case response
        /// The handshake-era GET stream.
        case get
        /// 2026-07-28 `subscriptions/listen`.
        case listen
        /// The deprecated HTTP+SSE transport's `GET /sse`.
        case sse
    }
    enum Cancellation: String, CaseIterable {
        /// `notifications/cancelled` from the client.
        case notification
        /// The client closed the connection.
        case disconnect
    }

    /// Per era (modern, handshake), per method.
    private let requests: (modern: [String: Counter], handshake: [String: Counter])
    private let errors: [Int: Counter]
    private let toolCalls: [CallEvent.Outcome: DurationHistogram]
    private let streams: [Stream: Gauge]
    private let cancellations: [Cancellation: Counter]
    private let sessions: Counter

    init(registry: PrometheusCollectorRegistry) {
        let requestDescriptor = MetricNameDescriptor(
            namespace: "switchboard", subsystem: "mcp", metricName: "requests", unitName: "total",
            helpText: "MCP messages received, by method and protocol era (2026-07-28 or handshake)"
        )
        func counters(_ era: String) -> [String: Counter] {
            Dictionary(uniqueKeysWithValues: (Self.methods + ["other"]).map { ($0, registry.makeCounter(descriptor: requestDescriptor, labels: [("method", $0), ("era", era)])) })
        }
        requests = (counters("2026-07-28"), counters("handshake"))
        let errorDescriptor = MetricNameDescriptor(
            namespace: "switchboard", subsystem: "mcp", metricName: "errors", unitName: "total", helpText: "JSON-RPC errors answered, by code"
        )
        let codes: [JSONRPCErrorCode] = [
            .parseError, .invalidRequest, .methodNotFound, .invalidParams, .internalError, .headerMismatch, .missingRequiredClientCapability,
            .unsupportedProtocolVersion, .rateLimited, .requestCancelled,
        ]
        errors = Dictionary(uniqueKeysWithValues: codes.map { ($0.rawValue, registry.makeCounter(descriptor: errorDescriptor, labels: [("code", String($0.rawValue))])) })
        let callDescriptor = MetricNameDescriptor(
            namespace: "switchboard", subsystem: "mcp", metricName: "tool_call_duration", unitName: "seconds",
            helpText: "tools/call latency at the gateway, from the parsed request to the result, by outcome"
        )
        toolCalls = Dictionary(
            uniqueKeysWithValues: CallEvent.Outcome.allCases.map {
                ($0, registry.makeDurationHistogram(descriptor: callDescriptor, labels: [("outcome", $0.rawValue)], buckets: ServiceMetrics.latencyBuckets))
            }
        )
        let streamDescriptor = MetricNameDescriptor(
            namespace: "switchboard", subsystem: "mcp", metricName: "open_streams", unitName: "", helpText: "Server-sent-event streams open now, by kind"
        )
        streams = Dictionary(uniqueKeysWithValues: Stream.allCases.map { ($0, registry.makeGauge(descriptor: streamDescriptor, labels: [("kind", $0.rawValue)])) })
        let cancelDescriptor = MetricNameDescriptor(
            namespace: "switchboard", subsystem: "mcp", metricName: "cancellations", unitName: "total",
            helpText: "tools/call cancelled before it finished, by reason (notification, disconnect)"
        )
        cancellations = Dictionary(
            uniqueKeysWithValues: Cancellation.allCases.map { ($0, registry.makeCounter(descriptor: cancelDescriptor, labels: [("reason", $0.rawValue)])) }
        )
        sessions = registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "switchboard", subsystem: "mcp", metricName: "sessions_issued", unitName: "total",
                helpText: "Handshake-era sessions issued (signed Mcp-Session-Id values)"
            )
        )
    }

    func request(_ method: String, era: ProtocolEra) {
        let counters = era.isModern ? requests.modern : requests.handshake
        (counters[method] ?? counters["other"])?.increment()
    }

    func error(_ code: JSONRPCErrorCode) {
        errors[code.rawValue]?.increment()
    }

    func toolCall(_ outcome: CallEvent.Outcome, duration: Duration) {
        toolCalls[outcome]?.record(duration)
    }

    func streamOpened(_ kind: Stream) { streams[kind]?.increment() }
    func streamClosed(_ kind: Stream) { streams[kind]?.decrement() }
    func cancelled(_ reason: Cancellation) { cancellations[reason]?.increment() }
    func sessionIssued() { sessions.increment() }
}
