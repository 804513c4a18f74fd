import SwitchboardCore
import Synchronization

/// Token buckets in this process: the embedded default, and the `local` fallback while Redis is down.
final class MemoryRateLimiter: RateLimiter {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
        /// When the bucket will be full again (from then on, forgetting it changes nothing).
        var fullAt: ContinuousClock.Instant
    }

    let kind = "in-process"
    private let buckets = Mutex<[String: Bucket]>([:])
    /// Buckets kept before full (idle) ones are dropped.
    private let maximumBuckets: Int

    init(maximumBuckets: Int = 100_000) {
        self.maximumBuckets = maximumBuckets
    }

    func acquire(_ requested: [TokenBucket]) async throws -> RateLimitDecision {
        let now = ContinuousClock.now
        return buckets.withLock { table in
            var levels: [Double] = []
            var worst: (index: Int, wait: Double)?
            for (index, bucket) in requested.enumerated() {
                let state = table[bucket.key] ?? Bucket(tokens: Double(bucket.capacity), updated: now, fullAt: now)
                let level = min(Double(bucket.capacity), state.tokens + (now - state.updated).seconds * bucket.tokensPerSecond)
                levels.append(level)
                if level < 1 {
                    let wait = (1 - level) / bucket.tokensPerSecond
                    if wait > (worst?.wait ?? 0) { worst = (index, wait) }
                }
            }
            if let worst { return .limited(index: worst.index, retryAfter: .milliseconds(Int64((worst.wait * 1000).rounded(.up)))) }
            for (index, bucket) in requested.enumerated() {
                let tokens = levels[index] - 1
                let refill = Duration.seconds((Double(bucket.capacity) - tokens) / bucket.tokensPerSecond)
                table[bucket.key] = Bucket(tokens: tokens, updated: now, fullAt: now + refill)
            }
            if table.count > maximumBuckets {
                table = table.filter { $0.value.fullAt > now }
            }
            return .allowed
        }
    }
}
