import SwitchboardCore

/// ``SharedStore`` in Redis under `sb:s:`, shared by every gateway replica.
final class RedisSharedStore: SharedStore {
    let kind = "redis"
    private let client: RedisClient
    static let prefix = "sb:s:"

    init(client: RedisClient) {
        self.client = client
    }

    func get(_ key: String) async throws -> [UInt8]? {
        try await client.send(RedisCommand("GET", Self.prefix + key)).bytes
    }

    func set(_ key: String, _ value: [UInt8], ttl: Duration) async throws {
        try await client.send(RedisCommand("SET", Self.prefix + key, value, "PX", max(1, ttl.milliseconds)))
    }

    func delete(_ key: String) async throws {
        try await client.send(RedisCommand("DEL", Self.prefix + key))
    }

    func claim(_ key: String, ttl: Duration) async throws -> Bool {
        let reply = try await client.send(RedisCommand("SET", Self.prefix + key, "1", "NX", "PX", max(1, ttl.milliseconds)))
        return reply == .simpleString("OK")
    }
}
