import Synchronization

/// ``SharedStore`` for a single gateway replica.
final class MemorySharedStore: SharedStore {
    private struct Item {
        let value: [UInt8]
        let expiresAt: ContinuousClock.Instant
    }

    let kind = "in-process"
    private let items = Mutex<[String: Item]>([:])

    func get(_ key: String) async throws -> [UInt8]? {
        items.withLock { items in
            guard let item = items[key] else { return nil }
            guard item.expiresAt > .now else {
                items[key] = nil
                return nil
            }
            return item.value
        }
    }

    func set(_ key: String, _ value: [UInt8], ttl: Duration) async throws {
        items.withLock { items in
            let now = ContinuousClock.now
            items = items.filter { $0.value.expiresAt > now }
            items[key] = Item(value: value, expiresAt: now + ttl)
        }
    }

    func delete(_ key: String) async throws {
        _ = items.withLock { $0.removeValue(forKey: key) }
    }

    func claim(_ key: String, ttl: Duration) async throws -> Bool {
        items.withLock { items in
            let now = ContinuousClock.now
            if let item = items[key], item.expiresAt > now { return false }
            items[key] = Item(value: [], expiresAt: now + ttl)
            return true
        }
    }
}
