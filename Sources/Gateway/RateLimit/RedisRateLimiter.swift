import SwitchboardCore

/// Token buckets in Redis, shared by every gateway replica. One script call per tools/call checks and
/// takes a token from every applicable bucket atomically, on the server's clock (`TIME`), so replicas
/// with skewed clocks agree. Buckets are hashes `sb:rl:<scope>:<identity>` {t: tokens, ts: ms} that
/// expire once they would have refilled.
final class RedisRateLimiter: RateLimiter {
    let kind = "redis"
    private let client: RedisClient
    static let prefix = "sb:rl:"

    init(client: RedisClient) {
        self.client = client
    }

    func acquire(_ buckets: [TokenBucket]) async throws -> RateLimitDecision {
        var arguments: [any RedisArgumentConvertible] = []
        for bucket in buckets {
            arguments.append(String(bucket.tokensPerSecond / 1000))
            arguments.append(bucket.capacity)
        }
        let reply = try await client.evaluate(Self.script, keys: buckets.map { Self.prefix + $0.key }, arguments: arguments)
        guard let values = reply.array, values.count == 3, let allowed = values[0].integer, let index = values[1].integer, let wait = values[2].integer else {
            throw RedisError(.unexpectedReply, "rate-limit script answered \(reply)")
        }
        if allowed == 1 { return .allowed }
        return .limited(index: Int(index) - 1, retryAfter: .milliseconds(max(1, wait)))
    }

    /// KEYS: bucket keys. ARGV: per bucket, tokens per millisecond and capacity.
    /// Returns {1, 0, 0} after taking a token from each, or {0, index of the slowest bucket, ms until it has one}.
    static let script = RedisScript(
        """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local levels = {}
        local worst, wait = 0, 0
        for i, key in ipairs(KEYS) do
          local rate = tonumber(ARGV[2 * i - 1])
          local capacity = tonumber(ARGV[2 * i])
          local state = redis.call('HMGET', key, 't', 'ts')
          local tokens = tonumber(state[1]) or capacity
          local updated = tonumber(state[2]) or now
          tokens = math.min(capacity, tokens + math.max(0, now - updated) * rate)
          levels[i] = tokens
          if tokens < 1 then
            local needed = (1 - tokens) / rate
            if needed > wait then worst, wait = i, needed end
          end
        end
        if worst > 0 then return {0, worst, math.ceil(wait)} end
        for i, key in ipairs(KEYS) do
          local rate = tonumber(ARGV[2 * i - 1])
          local capacity = tonumber(ARGV[2 * i])
          local tokens = levels[i] - 1
          redis.call('HSET', key, 't', tostring(tokens), 'ts', now)
          redis.call('PEXPIRE', key, math.ceil((capacity - tokens) / rate) + 1000)
        end
        return {1, 0, 0}
        """
    )
}
