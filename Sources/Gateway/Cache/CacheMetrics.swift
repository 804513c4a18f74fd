import Prometheus
import SwitchboardCore

/// The result cache's series (`switchboard_cache_*`).
struct CacheMetrics: Sendable {
    let lookups: CounterFamily
    let stores: CounterFamily
    let invalidations: Counter
    let invalidatedEntries: Counter
    let entries: Gauge
    let bytes: Gauge
    let warmCalls: CounterFamily
    let predictiveWarms: CounterFamily

    init(registry: PrometheusCollectorRegistry) {
        func descriptor(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "switchboard", subsystem: "cache", metricName: name, unitName: unit, helpText: help)
        }
        lookups = CounterFamily(
            registry: registry,
            descriptor: descriptor(
                "lookups", "total",
                "tools/call answers for cacheable tools by tool and result: hit, miss, coalesced (joined an identical call in flight), bypass (client asked), unavailable (store unreachable)"
            ),
            labels: ["tool", "result"]
        )
        stores = CounterFamily(
            registry: registry,
            descriptor: descriptor(
                "stores", "total",
                "Results offered to the cache by outcome: stored, error_result, too_large, not_admitted (key asked for fewer than the learned admit_after times), raced (an invalidation ran meanwhile), unavailable"
            ),
            labels: ["outcome"]
        )
        invalidations = registry.makeCounter(descriptor: descriptor("invalidations", "total", "Calls of writing tools that invalidated cache entries"))
        invalidatedEntries = registry.makeCounter(descriptor: descriptor("invalidated_entries", "total", "Cache entries removed by invalidations"))
        entries = registry.makeGauge(descriptor: descriptor("entries", "", "Live cache entries (sampled every few seconds)"))
        bytes = registry.makeGauge(descriptor: descriptor("memory", "bytes", "Result bytes held by the in-process cache (0 with Redis)"))
        warmCalls = CounterFamily(
            registry: registry, descriptor: descriptor("warm_calls", "total", "Cache-warming calls by outcome: stored, skipped, failed"), labels: ["outcome"]
        )
        predictiveWarms = CounterFamily(
            registry: registry,
            descriptor: descriptor(
                "predictive_warms", "total",
                "Calls predicted by the learn service's warm transitions, by outcome: stored (ran and cached), cached (already cached), busy (concurrency limit), not_read_only, failed"
            ),
            labels: ["outcome"]
        )
    }
}
