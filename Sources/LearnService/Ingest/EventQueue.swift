import Synchronization
import SwitchboardCore

/// The bounded queue between ingest and learning. A full queue drops new events and counts them:
/// the gateway is never made to wait for learning.
final class EventQueue: Sendable {
    private let capacity: Int
    private let state = Mutex<State>(State())
    private let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))

    private struct State {
        var events: [Observation] = []
        var accepted = 0
        var dropped = 0
    }

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Adds what fits; returns how many were accepted and dropped.
    func push(_ events: [Observation]) -> (accepted: Int, dropped: Int) {
        let result = state.withLock { state -> (Int, Int) in
            let room = max(0, capacity - state.events.count)
            let taken = min(room, events.count)
            state.events.append(contentsOf: events.prefix(taken))
            state.accepted += taken
            state.dropped += events.count - taken
            return (taken, events.count - taken)
        }
        if result.0 > 0 { continuation.yield() }
        return result
    }

    /// Takes everything queued.
    func drain() -> [Observation] {
        state.withLock { state in
            defer { state.events.removeAll(keepingCapacity: true) }
            return state.events
        }
    }

    var depth: Int { state.withLock { $0.events.count } }
    var totals: (accepted: Int, dropped: Int) { state.withLock { ($0.accepted, $0.dropped) } }

    /// Wakes whenever events arrive.
    var arrivals: AsyncStream<Void> { stream }

    func finish() { continuation.finish() }
}
