/// What a limiter decided for one call.
enum RateLimitDecision: Sendable, Equatable {
    case allowed
    /// The bucket at `index` (of those passed) is empty; it holds a token again after `retryAfter`.
    case limited(index: Int, retryAfter: Duration)
}

/// Token buckets, in Redis (shared by every gateway replica) or in-process.
protocol RateLimiter: Sendable {
    /// `"redis"` or `"in-process"`.
    var kind: String { get }
    /// Atomically takes one token from every bucket when each has one; otherwise takes none and names
    /// the bucket that must refill longest.
    func acquire(_ buckets: [TokenBucket]) async throws -> RateLimitDecision
}
