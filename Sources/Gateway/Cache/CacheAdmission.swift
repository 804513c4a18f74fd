import Learning
import Synchronization

/// Admission to the result cache by request frequency (TinyLFU's doorkeeper idea): every lookup of a
/// cacheable call counts its key in a ``FrequencySketch`` (bounded: 4-bit counters, halved as the
/// counts age), and a computed result is stored only once its key has been asked for `admit_after`
/// times — the learn service's per-tool policy. Tools without a learned value admit at once.
final class CacheAdmission: Sendable {
    private struct State {
        var sketch: FrequencySketch
        var admitAfter: [String: Int] = [:]
    }

    private let state: Mutex<State>

    /// - Parameter capacity: distinct keys the sketch tracks well (16 counters per 64-bit word).
    init(capacity: Int = 16_384) {
        state = Mutex(State(sketch: FrequencySketch(capacity: capacity)))
    }

    /// Replaces the learned `admit_after` per tool (empty: admit everything at once).
    func setLearned(_ admitAfter: [String: Int]) {
        state.withLock { $0.admitAfter = admitAfter }
    }

    /// Tools with a learned admission threshold above one request.
    var learnedCount: Int { state.withLock { $0.admitAfter.values.count { $0 > 1 } } }

    /// Counts one request for `key`.
    func record(_ key: UInt64) {
        state.withLock { $0.sketch.increment(key) }
    }

    /// Whether a result for `key` of `tool` may be stored now.
    func admits(tool: String, key: UInt64) -> Bool {
        state.withLock { state in
            let threshold = min(15, state.admitAfter[tool] ?? 1)
            return threshold <= 1 || state.sketch.frequency(key) >= threshold
        }
    }
}
