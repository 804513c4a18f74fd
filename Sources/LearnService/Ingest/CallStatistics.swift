import Synchronization
import SwitchboardCore

/// Per-tool call counts, outcomes and latency (EWMA), learned from telemetry.
final class CallStatistics: Sendable {
    struct ToolFigures: Sendable {
        var calls = 0
        var errors = 0
        var cacheHits = 0
        /// Exponentially weighted mean latency in milliseconds (α = 0.1).
        var meanLatency = 0.0
        var lastSeen = 0.0
    }

    private let table = Mutex<[String: ToolFigures]>([:])

    func apply(_ events: [CallEvent]) {
        table.withLock { table in
            for event in events {
                var figures = table[event.tool] ?? ToolFigures()
                figures.calls += 1
                if event.outcome != .ok { figures.errors += 1 }
                if event.cacheHit { figures.cacheHits += 1 }
                figures.meanLatency = figures.calls == 1 ? event.latencyMilliseconds : 0.9 * figures.meanLatency + 0.1 * event.latencyMilliseconds
                figures.lastSeen = max(figures.lastSeen, event.timestamp)
                table[event.tool] = figures
            }
        }
    }

    var snapshot: [String: ToolFigures] { table.withLock { $0 } }
}
