import Foundation
import Logging
import Synchronization

/// Whether the server is reachable, shared by every connection of a client.
///
/// After a failed connection attempt (or a command timeout) the client backs off: for
/// `initial × 2^(failures−1)` (capped at `maximum`, ±25 % jitter) every call fails fast with
/// ``RedisError/Code/unavailable`` instead of waiting on a socket; the first caller after that moment
/// gets to try again. A success resets everything. Transitions are logged once each way.
final class RedisAvailability: Sendable {
    /// What `/ready` and logs show.
    struct Snapshot: Sendable {
        /// nil until the first connection attempt finished.
        var isUp: Bool?
        var consecutiveFailures = 0
        var lastError: String?
        var downSince: ContinuousClock.Instant?
        var retryAt: ContinuousClock.Instant?
    }

    private let initial: Duration
    private let maximum: Duration
    private let name: String
    private let logger: Logger
    private let metrics: RedisMetrics
    private let state = Mutex(Snapshot())
    /// Lets the hot path skip the lock while everything is fine.
    private let healthy = Atomic<Bool>(false)

    init(initial: Duration, maximum: Duration, name: String, logger: Logger, metrics: RedisMetrics) {
        self.initial = initial
        self.maximum = maximum
        self.name = name
        self.logger = logger
        self.metrics = metrics
    }

    var snapshot: Snapshot { state.withLock { $0 } }

    /// nil when a connection attempt may go ahead now, else the error to fail fast with. While backing
    /// off, the first caller after the wait claims the attempt; the others keep failing fast until it ends.
    func permitConnect() -> RedisError? {
        state.withLock { state in
            guard let retryAt = state.retryAt else { return nil }
            let now = ContinuousClock.now
            if now >= retryAt {
                state.retryAt = now + Self.jittered(delay(after: state.consecutiveFailures))
                return nil
            }
            return RedisError(
                .unavailable, "\(name) unreachable (\(state.lastError ?? "no connection")); next attempt in \(Units.format(retryAt - now))"
            )
        }
    }

    /// A round trip succeeded: cheap when already up.
    func confirmUp() {
        if !healthy.load(ordering: .relaxed) { succeeded() }
    }

    /// A connection was made or a command answered.
    func succeeded() {
        let downFor = state.withLock { state -> Duration?? in
            let previous = state.isUp
            let since = state.downSince
            state.isUp = true
            state.consecutiveFailures = 0
            state.lastError = nil
            state.downSince = nil
            state.retryAt = nil
            if previous == true { return .none }
            return .some(since.map { .now - $0 })
        }
        healthy.store(true, ordering: .relaxed)
        metrics.setUp(true)
        switch downFor {
        case .some(.some(let duration)):
            logger.notice("redis reachable again", metadata: ["redis": .string(name), "down_for": .string(Units.format(duration))])
        case .some(.none):
            logger.info("redis connected", metadata: ["redis": .string(name)])
        case .none:
            break
        }
    }

    /// A connection attempt failed or the server stopped answering.
    func failed(_ error: RedisError) {
        let (wasUp, wait) = state.withLock { state -> (Bool?, Duration) in
            let previous = state.isUp
            state.isUp = false
            state.consecutiveFailures += 1
            state.lastError = error.message
            if state.downSince == nil { state.downSince = .now }
            let wait = Self.jittered(delay(after: state.consecutiveFailures))
            state.retryAt = .now + wait
            return (previous, wait)
        }
        healthy.store(false, ordering: .relaxed)
        metrics.setUp(false)
        if wasUp != false {
            logger.warning(
                "redis unreachable; failing fast and retrying with backoff",
                metadata: ["redis": .string(name), "error": .string(error.message), "retry_in": .string(Units.format(wait))]
            )
        }
    }

    /// The un-jittered wait after `failures` consecutive failures.
    func delay(after failures: Int) -> Duration {
        guard failures > 0 else { return .zero }
        let scaled = initial * (1 << min(failures - 1, 30))
        return min(scaled, maximum)
    }

    static func jittered(_ delay: Duration) -> Duration {
        delay * Double.random(in: 0.75...1.25)
    }
}
