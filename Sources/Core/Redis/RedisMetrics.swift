import Prometheus

/// The client's Prometheus series (`switchboard_redis_*`); a client without a registry records nothing.
final class RedisMetrics: Sendable {
    private let commandCounts: CounterFamily?
    private let errorCounts: CounterFamily?
    private let roundTrips: DurationHistogram?
    private let connects: Counter?
    private let openConnections: Gauge?
    private let inFlight: Gauge?
    private let up: Gauge?

    /// Round-trip buckets: 50 µs to 1 s (a loopback round trip is ~20 µs plus scheduling).
    static let buckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1),
    ]

    init(registry: PrometheusCollectorRegistry?, poolSize: Int) {
        func descriptor(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "switchboard", subsystem: "redis", metricName: name, unitName: unit, helpText: help)
        }
        commandCounts = registry.map { CounterFamily(registry: $0, descriptor: descriptor("commands", "total", "Commands sent, by command name"), labels: ["command"]) }
        errorCounts = registry.map {
            CounterFamily(
                registry: $0,
                descriptor: descriptor(
                    "errors", "total",
                    "Failed commands by kind: connect, handshake, io, timeout, server (error reply), unexpected_reply, unavailable (failed fast while backing off)"
                ),
                labels: ["kind"]
            )
        }
        roundTrips = registry?.makeDurationHistogram(
            descriptor: descriptor("round_trip_duration", "seconds", "Time from sending a command or pipeline to its last reply; the count is the number of round trips"),
            buckets: Self.buckets
        )
        connects = registry?.makeCounter(descriptor: descriptor("connects", "total", "Connections established (first connects and reconnects)"))
        openConnections = registry?.makeGauge(descriptor: descriptor("connections_open", "", "Pool connections currently connected"))
        inFlight = registry?.makeGauge(descriptor: descriptor("pool_in_flight", "", "Commands and pipelines queued on or running in pool connections"))
        up = registry?.makeGauge(descriptor: descriptor("up", "", "1 while the server is reachable, 0 while the client backs off"))
        registry?.makeGauge(descriptor: descriptor("pool_size", "", "Connections the pool may open")).set(Int64(poolSize))
    }

    func recordCommands(_ commands: [RedisCommand]) {
        guard let commandCounts else { return }
        for command in commands { commandCounts.increment(command.name) }
    }

    func recordError(_ error: RedisError) {
        errorCounts?.increment(error.code.name)
    }

    func recordRoundTrip(_ duration: Duration) { roundTrips?.record(duration) }
    func connected() {
        connects?.increment()
        openConnections?.increment()
    }
    func disconnected() { openConnections?.decrement() }
    func enter() { inFlight?.increment() }
    func leave() { inFlight?.decrement() }
    func setUp(_ isUp: Bool) { up?.set(Int64(isUp ? 1 : 0)) }
}
