import SwitchboardCore

/// The result store in Redis, shared by every gateway replica.
///
/// Keys (prefix `sb:cache:`): `e:<tool>:<hash>` holds an entry (8 bytes of big-endian store time in
/// milliseconds, then the result) with a `PX` TTL; `t:<tag>` is the set of entry keys carrying a tag;
/// `index` is a sorted set of entry keys by expiry (for the size and for invalidating everything);
/// `epoch` counts invalidations. A lookup is one `MGET` (one round trip); a store and an invalidation
/// are one script each, so they are atomic. Standalone Redis only: scripts touch keys they discover.
final class RedisResultStore: ToolResultStore {
    let kind = "redis"
    private let client: RedisClient
    static let prefix = "sb:cache:"
    private let epochKey = prefix + "epoch"
    private let indexKey = prefix + "index"

    init(client: RedisClient) {
        self.client = client
    }

    func entryKey(_ key: String) -> String { Self.prefix + "e:" + key }
    func tagKey(_ tag: String) -> String { Self.prefix + "t:" + tag }

    func lookup(_ key: String) async throws -> (entry: CachedResult?, epoch: Int64) {
        let reply = try await client.send(RedisCommand("MGET", entryKey(key), epochKey))
        guard let values = reply.array, values.count == 2 else {
            throw RedisError(.unexpectedReply, "MGET answered \(reply)")
        }
        let epoch = values[1].integer ?? 0
        guard let raw = values[0].bytes, raw.count >= 8 else { return (nil, epoch) }
        let storedAt = raw.prefix(8).reduce(Int64(0)) { $0 << 8 | Int64($1) }
        return (CachedResult(bytes: Array(raw.dropFirst(8)), storedAt: storedAt), epoch)
    }

    func epoch() async throws -> Int64 {
        try await client.send(RedisCommand("GET", epochKey)).integer ?? 0
    }

    func store(_ key: String, _ result: CachedResult, ttl: Duration, tags: [String], ifEpoch epoch: Int64) async throws -> Bool {
        var value: [UInt8] = []
        value.reserveCapacity(result.bytes.count + 8)
        for shift in stride(from: 56, through: 0, by: -8) { value.append(UInt8(truncatingIfNeeded: result.storedAt >> Int64(shift))) }
        value.append(contentsOf: result.bytes)
        let keys = [entryKey(key), epochKey, indexKey] + tags.map(tagKey)
        let reply = try await client.evaluate(Self.storeScript, keys: keys, arguments: [epoch, value, max(1, ttl.milliseconds)])
        return reply.integer == 1
    }

    func invalidate(tags: [String]) async throws -> (removed: Int, epoch: Int64) {
        let reply = try await client.evaluate(Self.invalidateScript, keys: [epochKey, indexKey] + tags.map(tagKey), arguments: [])
        guard let values = reply.array, values.count == 2, let removed = values[0].integer, let epoch = values[1].integer else {
            throw RedisError(.unexpectedReply, "invalidation script answered \(reply)")
        }
        return (Int(removed), epoch)
    }

    func invalidateAll() async throws -> Int {
        let reply = try await client.evaluate(Self.invalidateAllScript, keys: [epochKey, indexKey], arguments: [])
        return Int(reply.integer ?? 0)
    }

    func count() async throws -> Int {
        Int(try await client.evaluate(Self.countScript, keys: [indexKey], arguments: []).integer ?? 0)
    }

    /// KEYS: entry, epoch, index, tags…; ARGV: expected epoch, value, TTL in ms. Returns 1 when stored.
    static let storeScript = RedisScript(
        """
        if tonumber(redis.call('GET', KEYS[2]) or '0') ~= tonumber(ARGV[1]) then return 0 end
        local ttl = tonumber(ARGV[3])
        redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        redis.call('ZADD', KEYS[3], now + ttl, KEYS[1])
        redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
        for i = 4, #KEYS do
          redis.call('SADD', KEYS[i], KEYS[1])
          if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
        end
        return 1
        """
    )

    /// KEYS: epoch, index, tags…. Deletes every entry in the tags' sets; returns {removed, new epoch}.
    static let invalidateScript = RedisScript(
        """
        local removed = 0
        for i = 3, #KEYS do
          local members = redis.call('SMEMBERS', KEYS[i])
          for j = 1, #members, 500 do
            local last = math.min(j + 499, #members)
            removed = removed + redis.call('DEL', unpack(members, j, last))
            redis.call('ZREM', KEYS[2], unpack(members, j, last))
          end
          redis.call('DEL', KEYS[i])
        end
        return {removed, redis.call('INCR', KEYS[1])}
        """
    )

    /// KEYS: epoch, index. Deletes every indexed entry; returns the number removed.
    static let invalidateAllScript = RedisScript(
        """
        local members = redis.call('ZRANGE', KEYS[2], 0, -1)
        local removed = 0
        for j = 1, #members, 500 do
          removed = removed + redis.call('DEL', unpack(members, j, math.min(j + 499, #members)))
        end
        redis.call('DEL', KEYS[2])
        redis.call('INCR', KEYS[1])
        return removed
        """
    )

    /// KEYS: index. Drops expired keys from the index and returns how many remain.
    static let countScript = RedisScript(
        """
        local t = redis.call('TIME')
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
        return redis.call('ZCARD', KEYS[1])
        """
    )
}
