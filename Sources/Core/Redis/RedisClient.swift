import Logging
import Prometheus
import ServiceLifecycle
import Synchronization

/// An async Redis client over hiredis: a bounded pool of connections, each an actor on its own serial
/// executor (blocking socket I/O never runs on the cooperative pool), with connect and command
/// timeouts, reconnection with exponential backoff and jitter, pipelining, AUTH and SELECT, and scripts.
///
/// While the server is unreachable every call fails fast with ``RedisError/Code/unavailable``; `run()`
/// (the client is a `Service`) probes in the background so the client recovers without traffic, and
/// closes the connections on shutdown.
public final class RedisClient: Service, Sendable {
    public let configuration: RedisConfiguration
    private let connections: [RedisConnection]
    /// Commands in flight per connection; a call goes to the least busy one.
    private let load: Mutex<[Int]>
    let availability: RedisAvailability
    private let metrics: RedisMetrics

    /// Reachability as `/ready` shows it.
    public struct Status: Sendable {
        /// nil before the first connection attempt has finished.
        public let isUp: Bool?
        public let lastError: String?
        /// How long the server has been unreachable.
        public let downFor: Duration?
    }

    public init(configuration: RedisConfiguration, registry: PrometheusCollectorRegistry? = nil, logger: Logger) {
        self.configuration = configuration
        let size = max(1, configuration.poolSize)
        let metrics = RedisMetrics(registry: registry, poolSize: size)
        let availability = RedisAvailability(
            initial: configuration.initialBackoff, maximum: configuration.maximumBackoff, name: configuration.displayName, logger: logger, metrics: metrics
        )
        self.metrics = metrics
        self.availability = availability
        connections = (0..<size).map { RedisConnection(index: $0, configuration: configuration, availability: availability, metrics: metrics) }
        load = Mutex(Array(repeating: 0, count: size))
    }

    public var status: Status {
        let snapshot = availability.snapshot
        return Status(isUp: snapshot.isUp, lastError: snapshot.lastError, downFor: snapshot.downSince.map { .now - $0 })
    }

    /// Sends one command; an error reply throws ``RedisError/Code/server``.
    @discardableResult
    public func send(_ command: RedisCommand) async throws(RedisError) -> RedisValue {
        try Self.checked(await pipeline([command])[0], command.name)
    }

    /// Sends commands in one write on one connection and returns their replies in order: one round trip.
    /// Error replies come back as ``RedisValue/error(_:)`` values; a connection failure throws.
    public func pipeline(_ commands: [RedisCommand]) async throws(RedisError) -> [RedisValue] {
        guard !commands.isEmpty else { return [] }
        let index = lease()
        defer { release(index) }
        metrics.recordCommands(commands)
        do {
            let replies = try await connections[index].execute(commands)
            for reply in replies where reply.errorMessage != nil { metrics.recordError(RedisError(.server, "")) }
            return replies
        } catch {
            metrics.recordError(error)
            throw error
        }
    }

    /// Runs a Lua script by SHA (`EVALSHA`), loading it on first use and after the server lost it.
    public func evaluate(_ script: RedisScript, keys: [String], arguments: [any RedisArgumentConvertible]) async throws(RedisError) -> RedisValue {
        var tail: [any RedisArgumentConvertible] = [keys.count]
        tail.append(contentsOf: keys as [any RedisArgumentConvertible])
        tail.append(contentsOf: arguments)
        if let sha = script.sha {
            let reply = try await pipeline([RedisCommand("EVALSHA", [sha as any RedisArgumentConvertible] + tail)])[0]
            if let message = reply.errorMessage, message.hasPrefix("NOSCRIPT") {
                return try Self.checked(await pipeline([RedisCommand("EVAL", [script.source as any RedisArgumentConvertible] + tail)])[0], "EVAL")
            }
            return try Self.checked(reply, "EVALSHA")
        }
        let replies = try await pipeline([RedisCommand("SCRIPT", "LOAD", script.source), RedisCommand("EVAL", [script.source as any RedisArgumentConvertible] + tail)])
        if let sha = replies[0].string { script.remember(sha) }
        return try Self.checked(replies[1], "EVAL")
    }

    /// `PING`; true when the server answered.
    public func ping() async -> Bool {
        (try? await send(RedisCommand("PING"))) == .simpleString("PONG")
    }

    /// Probes the server until shutdown: as soon as each backoff ends while it is down (so the client
    /// recovers with no traffic), every five seconds while it is up; then closes every connection.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var lastProbe: ContinuousClock.Instant?
            while !Task.isCancelled {
                let snapshot = self.availability.snapshot
                let now = ContinuousClock.now
                let due: Bool
                if snapshot.isUp == true {
                    due = lastProbe.map { now - $0 >= .seconds(5) } ?? true
                } else {
                    due = snapshot.retryAt.map { now >= $0 } ?? true
                }
                if due {
                    lastProbe = now
                    _ = await self.ping()
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        await close()
    }

    /// Closes every connection; later calls reconnect.
    public func close() async {
        for connection in connections { await connection.close() }
    }

    private func lease() -> Int {
        load.withLock { counts in
            var best = 0
            for index in counts.indices where counts[index] < counts[best] { best = index }
            counts[best] += 1
            metrics.enter()
            return best
        }
    }

    private func release(_ index: Int) {
        load.withLock { $0[index] -= 1 }
        metrics.leave()
    }

    private static func checked(_ reply: RedisValue, _ command: String) throws(RedisError) -> RedisValue {
        if let message = reply.errorMessage { throw RedisError(.server, "\(command): \(message)") }
        return reply
    }
}
