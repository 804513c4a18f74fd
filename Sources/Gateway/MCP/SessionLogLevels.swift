import Synchronization
import SwitchboardCore

/// The level each handshake-era session asked for with `logging/setLevel`, kept in memory on this
/// replica and bounded: sessions are stateless, so on another replica or after a restart a session
/// gets no log notifications until it sets a level again.
final class SessionLogLevels: Sendable {
    private let capacity: Int
    private let levels = Mutex<[String: ToolLogLevel]>([:])

    init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    func level(for key: String?) -> ToolLogLevel? {
        guard let key else { return nil }
        return levels.withLock { $0[key] }
    }

    func set(_ level: ToolLogLevel, for key: String) {
        levels.withLock { levels in
            if levels[key] == nil, levels.count >= capacity, let evicted = levels.keys.first {
                levels[evicted] = nil
            }
            levels[key] = level
        }
    }
}
