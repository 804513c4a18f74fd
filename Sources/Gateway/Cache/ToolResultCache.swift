import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import Synchronization
import SwitchboardCore

/// Cache-aside for tool results in front of ``ToolBackends``.
///
/// For a cacheable tool (see ``CachePolicy``) the key is the tool, the principal's scope and the
/// canonical arguments (object members sorted, so member order does not matter). A hit answers at once;
/// identical misses in flight share one call (single-flight); a result is stored unless it is an error,
/// larger than the limit, not yet admitted (``CacheAdmission``: the learn service's `admit_after`), or an
/// invalidation happened while it was computed. A call of a tool that is
/// not read-only invalidates the entries whose paths it may have changed (``CacheTags``).
///
/// Every answer for a cacheable tool carries `_meta["switchboard/cache"]` with its status (``Status``).
/// When the store is unreachable the cache is bypassed (calls still succeed); invalidations that could
/// not be applied are kept and replayed before the cache is used again.
final class ToolResultCache: Service, Sendable {
    /// Where an answer came from.
    enum Status: String, Sendable {
        case hit
        /// Computed now and offered to the store.
        case miss
        /// Joined an identical call that was already running.
        case coalesced
        /// The client asked to skip the lookup (`_meta["switchboard/cache"] = "bypass"`); the result refreshed the entry.
        case bypass
        /// The store could not be reached (or has invalidations to replay); the tool ran uncached.
        case unavailable
    }

    /// A tools/call answer and, for cacheable tools, how the cache took part.
    struct Served: Sendable {
        let outcome: ToolCallOutcome
        /// nil when the tool is not cacheable.
        let status: Status?
        /// The entry's key; nil when the tool is not cacheable.
        var key: Key? = nil
        /// The result as the tool produced it, when this call ran the tool and it succeeded.
        var ranResult: [UInt8]? = nil

        /// For telemetry (``CallEvent/cacheKey``): the entry's opaque key; nil when the tool is not cacheable.
        var cacheKey: String? { key?.telemetry }
        /// For telemetry (``CallEvent/resultHash``): a hash of the result when this call ran the tool and it succeeded.
        var resultHash: String? { ranResult.map(ToolResultCache.resultHash) }
    }

    /// One entry's key, derived once per call from the SHA-256 of the tool, scope and canonical arguments.
    struct Key: Sendable {
        let digest: [UInt8]
        /// `<tool>:<sha-256 hex>`, the store's key.
        let entry: String

        /// The opaque key telemetry carries: the first 128 bits of the digest in hex.
        var telemetry: String { Digest.hex(digest.prefix(16)) }
        /// The first 64 bits of the digest, for the admission sketch.
        var sketch: UInt64 { digest.prefix(8).reduce(0) { $0 << 8 | UInt64($1) } }
    }

    /// What a predictive warming call found or did.
    enum Prefetch: String, Sendable {
        /// The tool ran and its result was offered to the store.
        case stored
        /// The entry was cached already; nothing ran.
        case cached
        /// The tool failed or the store could not be used.
        case failed
    }

    let store: any ToolResultStore
    let tags: CacheTags
    private let policyState: Mutex<CachePolicy>
    private let metrics: CacheMetrics
    private let logger: Logger
    private let flights = Mutex<[String: Task<ToolCallOutcome, any Error>]>([:])
    private let pending = Mutex(PendingInvalidations())
    /// How often each key was asked for, and the learned `admit_after` per tool.
    let admission = CacheAdmission()

    /// Write invalidations that could not reach the store; replayed before the next use.
    private struct PendingInvalidations {
        static let limit = 10_000
        var tags: Set<String> = []
        /// Too many to remember: clear everything instead.
        var everything = false
        var isEmpty: Bool { tags.isEmpty && !everything }
    }

    init(store: any ToolResultStore, policy: CachePolicy, tags: CacheTags, metrics: CacheMetrics, logger: Logger) {
        self.store = store
        self.tags = tags
        policyState = Mutex(policy)
        self.metrics = metrics
        self.logger = logger
    }

    var policy: CachePolicy { policyState.withLock { $0 } }

    /// Changes one tool's configured TTL (zero stops caching it), as a `SWITCHBOARD_CACHE_TOOLS` entry would.
    func setTTL(_ ttl: Duration, for tool: String) {
        policyState.withLock { policy in
            let scope = policy.rules[tool]?.scope ?? .principal
            policy.rules[tool] = CachePolicy.Rule(ttl: ttl, scope: scope)
        }
    }

    /// Replaces the TTLs learned from the learn service's policy (empty: back to the configured default).
    func setLearnedTTLs(_ ttls: [String: Duration]) {
        policyState.withLock { $0.learnedTTLs = ttls }
    }

    /// Answers a tools/call: from the cache when possible, else by `run` (which calls the backends).
    /// Errors thrown by `run` propagate unchanged.
    func serve(
        tool: ToolEntry, arguments: ArraySlice<UInt8>, principal: String, bypass: Bool = false, learnedTTLs: [String: Duration]? = nil,
        run: @escaping @Sendable () async throws -> ToolCallOutcome
    ) async throws -> Served {
        var policy = self.policy
        if let learnedTTLs { policy.learnedTTLs = learnedTTLs }
        let rule = policy.rule(for: tool)
        if rule == nil && tool.isReadOnly { return Served(outcome: try await run(), status: nil) }
        let parsed = try? arguments.withUnsafeBytes { try JSONParser.parse($0) }
        guard let rule, let parsed else {
            let (outcome, _) = try await execute(tool, arguments: parsed, epoch: nil, run: run)
            return Served(outcome: outcome, status: nil)
        }
        let key = Self.key(tool: tool.name, scope: rule.scope == .shared ? "" : principal, arguments: parsed)
        guard await replayPendingInvalidations() else {
            return try await uncached(tool, key: key, arguments: parsed, run: run)
        }
        if bypass {
            guard let epoch = try? await store.epoch() else { return try await uncached(tool, key: key, arguments: parsed, run: run) }
            let outcome = try await executeAndSave(tool, key: key, rule: rule, arguments: parsed, epoch: epoch, run: run)
            return answer(outcome, tool: tool, key: key, status: .bypass)
        }
        admission.record(key.sketch)
        let found: (entry: CachedResult?, epoch: Int64)
        do {
            found = try await store.lookup(key.entry)
        } catch {
            logger.debug("cache lookup failed; calling the tool", metadata: ["error": .string("\(error)")])
            return try await uncached(tool, key: key, arguments: parsed, run: run)
        }
        if let entry = found.entry {
            metrics.lookups.increment(tool.name, Status.hit.rawValue)
            let age = max(0, Double(Self.nowMilliseconds() - entry.storedAt) / 1000)
            let outcome = ToolCallOutcome(result: CacheMeta.annotate(entry.bytes, status: Status.hit.rawValue, age: age), backend: "cache", isError: false)
            return Served(outcome: outcome, status: .hit, key: key)
        }
        let admitted = admission.admits(tool: tool.name, key: key.sketch)
        let (outcome, isLeader) = try await coalesced(key.entry) {
            try await self.executeAndSave(tool, key: key, rule: rule, arguments: parsed, epoch: found.epoch, admitted: admitted, run: run)
        }
        return answer(outcome, tool: tool, key: key, status: isLeader ? .miss : .coalesced)
    }

    /// Predictive warming: runs one call and stores its result unless its entry is cached already
    /// (admission does not apply: the learn service predicted the request). Identical client calls
    /// arriving meanwhile join it (single-flight).
    func prefetch(tool: ToolEntry, arguments: [UInt8], principal: String, run: @escaping @Sendable () async throws -> ToolCallOutcome) async -> Prefetch {
        guard let rule = policy.rule(for: tool), let parsed = try? JSONParser.parse(arguments), await replayPendingInvalidations() else { return .failed }
        let key = Self.key(tool: tool.name, scope: rule.scope == .shared ? "" : principal, arguments: parsed)
        guard let found = try? await store.lookup(key.entry) else { return .failed }
        guard found.entry == nil else { return .cached }
        do {
            let (outcome, _) = try await coalesced(key.entry) {
                try await self.executeAndSave(tool, key: key, rule: rule, arguments: parsed, epoch: found.epoch, run: run)
            }
            return outcome.isError ? .failed : .stored
        } catch {
            return .failed
        }
    }

    /// Runs the tool; a tool that is not read-only then invalidates what it may have written. Returns the
    /// epoch a store must match: the one read before the call, or the one after this call's own
    /// invalidation; nil when nothing may be stored.
    private func execute(
        _ tool: ToolEntry, arguments: JSONValue?, epoch: Int64?, run: @Sendable () async throws -> ToolCallOutcome
    ) async throws -> (ToolCallOutcome, Int64?) {
        let writes = tool.isReadOnly ? [] : tags.writeTags(tool: tool, arguments: arguments)
        guard !writes.isEmpty else { return (try await run(), epoch) }
        let outcome: ToolCallOutcome
        do {
            outcome = try await run()
        } catch {
            // A failed or timed-out write may still have changed something.
            _ = await invalidate(writes)
            throw error
        }
        let after = await invalidate(writes)
        return (outcome, epoch == nil ? nil : after)
    }

    /// Runs the tool (``execute``) and offers its result to the store.
    private func executeAndSave(
        _ tool: ToolEntry, key: Key, rule: CachePolicy.Rule, arguments: JSONValue, epoch: Int64?, admitted: Bool = true,
        run: @Sendable () async throws -> ToolCallOutcome
    ) async throws -> ToolCallOutcome {
        let (outcome, storeEpoch) = try await execute(tool, arguments: arguments, epoch: epoch, run: run)
        await save(outcome, key: key, rule: rule, arguments: arguments, epoch: storeEpoch, admitted: admitted)
        return outcome
    }

    private func uncached(_ tool: ToolEntry, key: Key, arguments: JSONValue?, run: @Sendable () async throws -> ToolCallOutcome) async throws -> Served {
        let (outcome, _) = try await execute(tool, arguments: arguments, epoch: nil, run: run)
        return answer(outcome, tool: tool, key: key, status: .unavailable)
    }

    /// The annotated answer, keeping the result as produced (for its hash) when this call ran the tool.
    private func answer(_ outcome: ToolCallOutcome, tool: ToolEntry, key: Key, status: Status) -> Served {
        metrics.lookups.increment(tool.name, status.rawValue)
        let annotated = ToolCallOutcome(result: CacheMeta.annotate(outcome.result, status: status.rawValue), backend: outcome.backend, isError: outcome.isError)
        let ran = status != .coalesced && !outcome.isError
        return Served(outcome: annotated, status: status, key: key, ranResult: ran ? outcome.result : nil)
    }

    /// The first 64 bits of the result bytes' SHA-256, in hex.
    static func resultHash(_ result: [UInt8]) -> String {
        Digest.hex(Digest.sha256(result).prefix(8))
    }

    /// Offers a computed result to the store.
    private func save(_ outcome: ToolCallOutcome, key: Key, rule: CachePolicy.Rule, arguments: JSONValue, epoch: Int64?, admitted: Bool = true) async {
        guard !outcome.isError else { return metrics.stores.increment("error_result") }
        guard outcome.result.count <= policy.maxResultBytes else { return metrics.stores.increment("too_large") }
        guard admitted else { return metrics.stores.increment("not_admitted") }
        guard let epoch else { return metrics.stores.increment("unavailable") }
        let result = CachedResult(bytes: outcome.result, storedAt: Self.nowMilliseconds())
        do {
            let stored = try await store.store(key.entry, result, ttl: rule.ttl, tags: tags.entryTags(arguments: arguments), ifEpoch: epoch)
            metrics.stores.increment(stored ? "stored" : "raced")
        } catch {
            metrics.stores.increment("unavailable")
        }
    }

    /// Removes entries a write may have changed; returns the new epoch, or nil when the store could not
    /// be reached (the tags are then kept for replay).
    private func invalidate(_ writes: [String]) async -> Int64? {
        do {
            let (removed, epoch) = try await store.invalidate(tags: writes)
            metrics.invalidations.increment()
            metrics.invalidatedEntries.increment(by: Int64(removed))
            return epoch
        } catch {
            pending.withLock { pending in
                pending.tags.formUnion(writes)
                if pending.tags.count > PendingInvalidations.limit {
                    pending.tags = []
                    pending.everything = true
                }
            }
            logger.debug("cache invalidation deferred: store unreachable", metadata: ["tags": .stringConvertible(writes.count), "error": .string("\(error)")])
            return nil
        }
    }

    /// Applies deferred invalidations; true when none are left (the cache may be used).
    func replayPendingInvalidations() async -> Bool {
        let snapshot = pending.withLock { $0 }
        guard !snapshot.isEmpty else { return true }
        do {
            let removed: Int
            if snapshot.everything {
                removed = try await store.invalidateAll()
            } else {
                removed = try await store.invalidate(tags: Array(snapshot.tags)).removed
            }
            pending.withLock { pending in
                pending.tags.subtract(snapshot.tags)
                if snapshot.everything { pending.everything = false }
            }
            metrics.invalidations.increment()
            metrics.invalidatedEntries.increment(by: Int64(removed))
            logger.notice("replayed cache invalidations deferred during a store outage", metadata: ["removed": .stringConvertible(removed)])
            return pending.withLock { $0.isEmpty }
        } catch {
            return false
        }
    }

    /// Runs `work` once per key at a time: callers arriving while it runs wait for the same outcome.
    /// Returns the outcome and whether this caller started the work. Cancelling the caller that started
    /// it cancels the work (a client that hangs up or sends `notifications/cancelled` stops the tool);
    /// the callers that joined then get that cancellation too.
    private func coalesced(_ key: String, _ work: @escaping @Sendable () async throws -> ToolCallOutcome) async throws -> (ToolCallOutcome, Bool) {
        let (task, isLeader) = flights.withLock { flights -> (Task<ToolCallOutcome, any Error>, Bool) in
            if let running = flights[key] { return (running, false) }
            let task = Task<ToolCallOutcome, any Error> {
                defer { _ = self.flights.withLock { $0.removeValue(forKey: key) } }
                return try await work()
            }
            flights[key] = task
            return (task, true)
        }
        let outcome = try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            if isLeader { task.cancel() }
        }
        return (outcome, isLeader)
    }

    /// The key of `tool`'s entry for `arguments` in `scope` (the principal, or empty when shared).
    static func key(tool: String, scope: String, arguments: JSONValue) -> Key {
        var material = Array(tool.utf8)
        material.append(0)
        material.append(contentsOf: scope.utf8)
        material.append(0)
        material.append(contentsOf: arguments.canonicalBytes)
        let digest = Digest.sha256(material)
        return Key(digest: digest, entry: tool + ":" + Digest.hex(digest))
    }

    static func nowMilliseconds() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded())
    }

    /// Samples the size into the metrics and retries deferred invalidations, until shutdown.
    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                _ = await self.replayPendingInvalidations()
                if let count = try? await self.store.count() { self.metrics.entries.set(Int64(count)) }
                if let memory = self.store as? MemoryResultStore { self.metrics.bytes.set(Int64(memory.bytes)) }
                try? await Task.sleep(for: .seconds(5))
            }
        }
    }

    /// One line for `/ready`.
    func describe() async -> String {
        let entries = (try? await store.count()).map { "\($0) entries" } ?? "store unreachable"
        let policy = policy
        let ttl = policy.defaultTTL > .zero ? "read-only/idempotent tools for \(Units.format(policy.defaultTTL))" : "only configured tools"
        return "\(store.kind): \(entries); caching \(ttl), \(policy.rules.count) per-tool rule(s), \(policy.learnedTTLs.count) learned TTL(s), \(admission.learnedCount) learned admission rule(s), results up to \(Units.formatBytes(Int64(policy.maxResultBytes)))"
    }
}
