import Synchronization

/// The in-process result store (the embedded default, and what one replica uses without Redis): entries
/// expire by TTL and the least recently used ones are evicted when their bytes exceed the budget.
final class MemoryResultStore: ToolResultStore {
    private struct Entry {
        var result: CachedResult
        var expiresAt: ContinuousClock.Instant
        var tags: [String]
        var lastUsed: UInt64
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var tagged: [String: Set<String>] = [:]
        var epoch: Int64 = 0
        var bytes = 0
        var tick: UInt64 = 0

        mutating func remove(_ key: String) -> Bool {
            guard let entry = entries.removeValue(forKey: key) else { return false }
            bytes -= entry.result.bytes.count
            for tag in entry.tags {
                tagged[tag]?.remove(key)
                if tagged[tag]?.isEmpty == true { tagged[tag] = nil }
            }
            return true
        }

        mutating func purgeExpired(now: ContinuousClock.Instant) {
            for (key, entry) in entries where entry.expiresAt <= now { _ = remove(key) }
        }
    }

    let kind = "in-process"
    private let capacity: Int
    private let state = Mutex(State())

    /// - Parameter capacity: most result bytes held at once.
    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Result bytes held now.
    var bytes: Int { state.withLock { $0.bytes } }

    func lookup(_ key: String) async throws -> (entry: CachedResult?, epoch: Int64) {
        state.withLock { state in
            guard let entry = state.entries[key] else { return (nil, state.epoch) }
            if entry.expiresAt <= .now {
                _ = state.remove(key)
                return (nil, state.epoch)
            }
            state.tick += 1
            state.entries[key]?.lastUsed = state.tick
            return (entry.result, state.epoch)
        }
    }

    func epoch() async throws -> Int64 {
        state.withLock { $0.epoch }
    }

    func store(_ key: String, _ result: CachedResult, ttl: Duration, tags: [String], ifEpoch epoch: Int64) async throws -> Bool {
        guard result.bytes.count <= capacity else { return false }
        return state.withLock { state in
            guard state.epoch == epoch else { return false }
            _ = state.remove(key)
            state.tick += 1
            state.entries[key] = Entry(result: result, expiresAt: .now + ttl, tags: tags, lastUsed: state.tick)
            state.bytes += result.bytes.count
            for tag in tags { state.tagged[tag, default: []].insert(key) }
            if state.bytes > capacity {
                state.purgeExpired(now: .now)
                // Evict least recently used entries down to 90 % of the budget.
                let byAge = state.entries.sorted { $0.value.lastUsed < $1.value.lastUsed }.map(\.key)
                for victim in byAge where state.bytes > capacity * 9 / 10 { _ = state.remove(victim) }
            }
            return state.entries[key] != nil
        }
    }

    func invalidate(tags: [String]) async throws -> (removed: Int, epoch: Int64) {
        state.withLock { state in
            var removed = 0
            for tag in tags {
                for key in state.tagged[tag] ?? [] where state.remove(key) { removed += 1 }
            }
            state.epoch += 1
            return (removed, state.epoch)
        }
    }

    func invalidateAll() async throws -> Int {
        state.withLock { state in
            let removed = state.entries.count
            state.entries = [:]
            state.tagged = [:]
            state.bytes = 0
            state.epoch += 1
            return removed
        }
    }

    func count() async throws -> Int {
        state.withLock { state in
            state.purgeExpired(now: .now)
            return state.entries.count
        }
    }
}
