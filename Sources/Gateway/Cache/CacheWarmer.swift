import Foundation
import Logging
import ServiceLifecycle
import SwitchboardCore

/// Keeps a configured list of calls in the cache (`SWITCHBOARD_CACHE_WARM`): runs each call when the
/// gateway starts and again before its entry expires (every 80 % of the shortest TTL among them).
/// With several replicas, a lease in the ``SharedStore`` lets one replica warm per round.
final class CacheWarmer: Service, Sendable {
    /// One call to keep warm.
    struct Call: Sendable, Equatable {
        let tool: String
        /// The arguments object as JSON.
        let arguments: [UInt8]
        /// Whose entry it fills (empty for tools cached with scope `shared`).
        let principal: String
    }

    let calls: [Call]
    private let cache: ToolResultCache
    private let backends: ToolBackends
    private let lease: any SharedStore
    private let toolTimeout: Duration
    private let metrics: CacheMetrics
    private let logger: Logger

    init(calls: [Call], cache: ToolResultCache, backends: ToolBackends, lease: any SharedStore, toolTimeout: Duration, metrics: CacheMetrics, logger: Logger) {
        self.calls = calls
        self.cache = cache
        self.backends = backends
        self.lease = lease
        self.toolTimeout = toolTimeout
        self.metrics = metrics
        self.logger = logger
    }

    /// Reads the warm list: a JSON array of `{"tool":"…","arguments":{…},"principal":"…"}`.
    /// `principal` may be left out only for tools cached with scope `shared`.
    static func load(path: String, policy: CachePolicy) throws(ConfigurationError) -> [Call] {
        func invalid(_ reason: String) -> ConfigurationError {
            ConfigurationError(description: "SWITCHBOARD_CACHE_WARM: \(path): \(reason)")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw invalid("cannot read the file") }
        let document: JSONValue
        do {
            document = try JSONParser.parse(Array(data))
        } catch {
            throw invalid("not JSON: \(error)")
        }
        guard let entries = document.arrayValue else { throw invalid("expected a JSON array of {\"tool\",\"arguments\",\"principal\"} objects") }
        var calls: [Call] = []
        for (index, entry) in entries.enumerated() {
            guard let tool = entry["tool"]?.stringValue, !tool.isEmpty else { throw invalid("entry \(index + 1): \"tool\" must be a non-empty string") }
            let arguments = entry["arguments"] ?? .object([])
            guard case .object = arguments else { throw invalid("entry \(index + 1) (\(tool)): \"arguments\" must be an object") }
            let principal = entry["principal"]?.stringValue ?? ""
            if principal.isEmpty && policy.rules[tool]?.scope != .shared {
                throw invalid("entry \(index + 1) (\(tool)): \"principal\" is required unless \(tool) is cached with scope shared (SWITCHBOARD_CACHE_TOOLS=\(tool)=TTL:shared)")
            }
            calls.append(Call(tool: tool, arguments: arguments.jsonBytes, principal: principal))
        }
        return calls
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var wait: Duration = .zero
            while !Task.isCancelled {
                try? await Task.sleep(for: wait)
                wait = await self.warm()
            }
        }
    }

    /// Warms every call once (if this replica holds the round's lease); returns when to warm again.
    func warm() async -> Duration {
        var interval: Duration = .seconds(60)
        var entries: [(Call, ToolEntry)] = []
        for call in calls {
            do {
                let tool = try await backends.tool(named: call.tool)
                guard let rule = cache.policy.rule(for: tool) else {
                    metrics.warmCalls.increment("skipped")
                    logger.warning("cache warming skips \(call.tool): its results are not cached (annotate it or add it to SWITCHBOARD_CACHE_TOOLS)")
                    continue
                }
                interval = min(interval, rule.ttl * 0.8)
                entries.append((call, tool))
            } catch let error where error.kind == .unavailable {
                // The tool service is not up yet: try again soon.
                return .seconds(1)
            } catch {
                metrics.warmCalls.increment("failed")
                logger.warning("cache warming skips \(call.tool): \(error.message)")
            }
        }
        guard !entries.isEmpty else { return interval }
        interval = max(interval, .seconds(1))
        do {
            guard try await lease.claim("cache-warm", ttl: interval * 0.9) else { return interval }
        } catch {
            return .seconds(2)
        }
        for (call, tool) in entries {
            let backends = backends
            let timeout = toolTimeout
            do {
                let served = try await cache.serve(tool: tool, arguments: call.arguments[...], principal: call.principal, bypass: true) {
                    try await backends.call(tool, arguments: call.arguments[...], principal: call.principal, callID: RequestID.generate(), timeout: timeout)
                }
                metrics.warmCalls.increment(served.status == .bypass && !served.outcome.isError ? "stored" : "failed")
            } catch {
                metrics.warmCalls.increment("failed")
                logger.warning("cache warming call of \(call.tool) failed: \(error)")
            }
        }
        return interval
    }
}
