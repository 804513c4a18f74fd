import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import SwitchboardCore

/// What several gateway replicas share — the result cache, rate-limit buckets, leases — kept in Redis
/// when `SWITCHBOARD_REDIS_URL` is set and in-process otherwise (the embedded default). The same
/// interfaces serve both; `/ready` says which is in use.
struct GatewayState: Sendable {
    let redis: RedisClient?
    let cache: ToolResultCache
    let limits: RateLimits
    let store: any SharedStore
    let warmer: CacheWarmer?
    /// Runs the calls the learn service predicts next (only with a learn service, `SWITCHBOARD_LEARN_URL`).
    let predictive: PredictiveWarmer?

    init(configuration: ServiceConfiguration, backends: ToolBackends, registry: PrometheusCollectorRegistry, logger: Logger) throws(ConfigurationError) {
        let policy = try CachePolicy(
            defaultTTL: configuration.duration(.cacheTTL), entries: configuration.list(.cacheTools), maxResultBytes: configuration.bytes(.cacheMaxResult)
        )
        let rules = try RateLimits.rules(from: configuration.list(.rateLimits))
        let outage = RateLimits.OutageMode(rawValue: configuration.string(.rateLimitOutage)) ?? .readOnlyOpen
        let resultStore: any ToolResultStore
        let limiter: any RateLimiter
        if let url = configuration.optional(.redisURL) {
            var redisConfiguration: RedisConfiguration
            do {
                redisConfiguration = try RedisConfiguration(url: url)
            } catch {
                throw ConfigurationError(description: "SWITCHBOARD_REDIS_URL: \(error.message)")
            }
            redisConfiguration.poolSize = configuration.int(.redisPool)
            redisConfiguration.connectTimeout = configuration.duration(.redisTimeout)
            redisConfiguration.commandTimeout = configuration.duration(.redisTimeout)
            let client = RedisClient(configuration: redisConfiguration, registry: registry, logger: logger)
            redis = client
            resultStore = RedisResultStore(client: client)
            limiter = RedisRateLimiter(client: client)
            store = RedisSharedStore(client: client)
            logger.info("shared state in Redis", metadata: ["redis": .string(redisConfiguration.displayName)])
        } else {
            redis = nil
            resultStore = MemoryResultStore(capacity: configuration.bytes(.cacheMemory))
            limiter = MemoryRateLimiter()
            store = MemorySharedStore()
            logger.info("SWITCHBOARD_REDIS_URL not set: result cache, rate limits and shared state are in-process")
        }
        let metrics = CacheMetrics(registry: registry)
        let workspace = configuration.string(.workspace)
        let absoluteWorkspace = workspace.hasPrefix("/") ? workspace : FileManager.default.currentDirectoryPath + "/" + workspace
        cache = ToolResultCache(store: resultStore, policy: policy, tags: CacheTags(workspace: absoluteWorkspace), metrics: metrics, logger: logger)
        limits = RateLimits(rules: rules, limiter: limiter, outage: outage, registry: registry, logger: logger)
        if let path = configuration.optional(.cacheWarm) {
            let calls = try CacheWarmer.load(path: path, policy: policy)
            warmer = CacheWarmer(
                calls: calls, cache: cache, backends: backends, lease: store, toolTimeout: configuration.duration(.toolTimeout), metrics: metrics, logger: logger
            )
        } else {
            warmer = nil
        }
        predictive = configuration.optional(.learnURL) == nil
            ? nil : PredictiveWarmer(cache: cache, backends: backends, toolTimeout: configuration.duration(.toolTimeout), metrics: metrics, logger: logger)
    }

    /// The long-running parts: the Redis client's prober, the cache's sampler, the warmer.
    var services: [any Service] {
        var services: [any Service] = []
        if let redis { services.append(redis) }
        services.append(cache)
        if let warmer { services.append(warmer) }
        return services
    }

    /// `/ready` entries: `redis` (or that it is not configured), `cache` and `rate-limits`, each saying where it lives.
    var readinessChecks: [any ReadinessCheck] {
        let redis = redis
        let cache = cache
        let limits = limits
        return [
            ReadinessProbe {
                guard let redis else {
                    return DependencyStatus(
                        name: "redis", state: .disabled, required: false,
                        detail: "not configured (SWITCHBOARD_REDIS_URL): cache, rate limits and shared state are in-process"
                    )
                }
                let name = redis.configuration.displayName
                let status = redis.status
                switch status.isUp {
                case true?:
                    return DependencyStatus(name: "redis", state: .up, required: false, detail: "\(name): cache, rate limits and shared state in Redis")
                case false?:
                    let downFor = status.downFor.map { " for \(Units.format($0))" } ?? ""
                    return DependencyStatus(
                        name: "redis", state: .degraded, required: false,
                        detail: "\(name) unreachable\(downFor) (\(status.lastError ?? "no connection")): cache bypassed, rate limits \(limits.outage.rawValue); retrying"
                    )
                case nil:
                    return DependencyStatus(name: "redis", state: .degraded, required: false, detail: "\(name): connecting")
                }
            },
            ReadinessProbe { DependencyStatus(name: "cache", state: .up, required: false, detail: await cache.describe()) },
            ReadinessProbe { DependencyStatus(name: "rate-limits", state: .up, required: false, detail: limits.summary) },
        ]
    }
}
