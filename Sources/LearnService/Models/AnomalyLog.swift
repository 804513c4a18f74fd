import Synchronization

/// The most recent anomalies (a bounded ring), numbered so that a poller can ask for what is new.
final class AnomalyLog: Sendable {
    private struct State {
        var entries: [Anomaly] = []
        var next = 1
    }

    private let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int = 1000) {
        self.capacity = max(1, capacity)
    }

    /// Numbers and keeps `anomalies`; the oldest are forgotten beyond `capacity`.
    func append(_ anomalies: [Anomaly]) {
        guard !anomalies.isEmpty else { return }
        state.withLock { state in
            for var anomaly in anomalies {
                anomaly.id = state.next
                state.next += 1
                state.entries.append(anomaly)
            }
            if state.entries.count > capacity { state.entries.removeFirst(state.entries.count - capacity) }
        }
    }

    /// Anomalies numbered above `id`, oldest first, at most `limit`.
    func after(_ id: Int, limit: Int) -> [Anomaly] {
        state.withLock { state in Array(state.entries.lazy.filter { $0.id > id }.prefix(limit)) }
    }
}
