import Foundation
import Logging
import Prometheus
import SwitchboardCore
import SwitchboardTestSupport
import Synchronization

@testable import Gateway

/// Which store a cache test runs against.
enum StoreKind: String, CaseIterable, Sendable {
    case memory
    case redis
}

enum CacheTestSupport {
    static let logger: Logger = {
        var logger = Logger(label: "cache-test")
        logger.logLevel = .critical
        return logger
    }()

    /// A Redis client with short timeouts and backoff, for tests that take Redis away.
    static func redisClient(_ url: String, registry: PrometheusCollectorRegistry? = nil) throws -> RedisClient {
        var configuration = try RedisConfiguration(url: url)
        configuration.commandTimeout = .milliseconds(150)
        configuration.connectTimeout = .milliseconds(150)
        configuration.initialBackoff = .milliseconds(50)
        configuration.maximumBackoff = .milliseconds(200)
        return RedisClient(configuration: configuration, registry: registry, logger: logger)
    }

    /// Runs `body` with a cache over the given store (a fresh redis-server for `.redis`).
    static func withCache(
        _ kind: StoreKind, policy: CachePolicy = CachePolicy(defaultTTL: .seconds(30), maxResultBytes: 64 * 1024), workspace: String? = nil,
        _ body: @Sendable (ToolResultCache, RedisServer?, PrometheusCollectorRegistry) async throws -> Void
    ) async throws {
        let registry = PrometheusCollectorRegistry()
        let metrics = CacheMetrics(registry: registry)
        switch kind {
        case .memory:
            let cache = ToolResultCache(
                store: MemoryResultStore(capacity: 1 << 20), policy: policy, tags: CacheTags(workspace: workspace), metrics: metrics, logger: logger
            )
            try await body(cache, nil, registry)
        case .redis:
            try await RedisServer.with { server in
                let client = try redisClient(server.url, registry: registry)
                let cache = ToolResultCache(
                    store: RedisResultStore(client: client), policy: policy, tags: CacheTags(workspace: workspace), metrics: metrics, logger: logger
                )
                try await body(cache, server, registry)
                await client.close()
            }
        }
    }

    static func tool(_ name: String, readOnly: Bool = true, idempotent: Bool = false, properties: [String] = ["path"]) -> ToolEntry {
        ToolEntry(name: name, definition: FileToolsFixture.tool(name, readOnly: readOnly, idempotent: idempotent, properties: properties))
    }

    /// A series' value, 0 when it does not exist yet.
    static func metric(_ registry: PrometheusCollectorRegistry, _ series: String) -> Double {
        sample(registry, series) ?? 0
    }
}

/// A stand-in for the backends that counts calls and answers with the call number.
final class CountingBackend: Sendable {
    private let count = Mutex(0)
    let delay: Duration
    let isError: Bool
    let size: Int

    init(delay: Duration = .zero, isError: Bool = false, size: Int = 0) {
        self.delay = delay
        self.isError = isError
        self.size = size
    }

    var calls: Int { count.withLock { $0 } }

    /// `{"content":[{"type":"text","text":"call N"}],"isError":false}`.
    func run() async throws -> ToolCallOutcome {
        let number = count.withLock { count -> Int in
            count += 1
            return count
        }
        if delay > .zero { try await Task.sleep(for: delay) }
        let text = "call \(number)" + String(repeating: " ", count: size)
        let result: JSONValue = ["content": [["type": "text", "text": .string(text)]], "isError": .bool(isError)]
        return ToolCallOutcome(result: result.jsonBytes, backend: "test", isError: isError)
    }
}

extension ToolResultCache.Served {
    /// The text of the result's first content item.
    var text: String? {
        (try? JSONParser.parse(outcome.result))?["content"]?.arrayValue?.first?["text"]?.stringValue
    }

    /// `_meta["switchboard/cache"]` of the result.
    var meta: JSONValue? {
        (try? JSONParser.parse(outcome.result))?["_meta"]?["switchboard/cache"]
    }
}
