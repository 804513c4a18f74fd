import Foundation
import Logging
import Prometheus
import SwitchboardTestSupport
import Testing

@testable import SwitchboardCore

/// The hiredis client against a real redis-server that each test starts and stops.
@Suite(.serialized)
struct RedisClientTests {
    static let logger: Logger = {
        var logger = Logger(label: "redis-test")
        logger.logLevel = .critical
        return logger
    }()

    func client(_ url: String, registry: PrometheusCollectorRegistry? = nil, _ adjust: (inout RedisConfiguration) -> Void = { _ in }) throws -> RedisClient {
        var configuration = try RedisConfiguration(url: url)
        configuration.initialBackoff = .milliseconds(100)
        configuration.maximumBackoff = .milliseconds(400)
        adjust(&configuration)
        return RedisClient(configuration: configuration, registry: registry, logger: Self.logger)
    }

    @Test func commandsRoundTripBinarySafeValuesAndTypedReplies() async throws {
        try await RedisServer.with { server in
            let redis = try client(server.url)
            let payload: [UInt8] = [0, 1, 2, 13, 10, 255]
            #expect(try await redis.send(RedisCommand("SET", "bin", payload)) == .simpleString("OK"))
            #expect(try await redis.send(RedisCommand("GET", "bin")).bytes == payload)
            #expect(try await redis.send(RedisCommand("GET", "missing")) == .null)
            #expect(try await redis.send(RedisCommand("INCRBY", "n", 41)) == .integer(41))
            #expect(try await redis.send(RedisCommand("HSET", "h", "a", "1", "b", "2")) == .integer(2))
            #expect(try await redis.send(RedisCommand("HGETALL", "h")).array?.count == 4)
            await #expect {
                try await redis.send(RedisCommand("INCR", "bin"))
            } throws: { error in
                let error = error as? RedisError
                return error?.code == .server && error?.message.contains("not an integer") == true
            }
            // An error reply leaves the connection usable.
            #expect(await redis.ping())
            await redis.close()
        }
    }

    @Test func aPipelineIsOneRoundTripWithRepliesInOrder() async throws {
        try await RedisServer.with { server in
            let registry = PrometheusCollectorRegistry()
            let redis = try client(server.url, registry: registry)
            #expect(await redis.ping())
            let before = sample(registry, "switchboard_redis_round_trip_duration_seconds_count") ?? 0
            var commands = (0..<100).map { RedisCommand("SET", "k\($0)", $0) }
            commands.insert(RedisCommand("NOSUCHCOMMAND"), at: 50)
            commands.append(contentsOf: (0..<100).map { RedisCommand("GET", "k\($0)") })
            let replies = try await redis.pipeline(commands)
            #expect(replies.count == 201)
            #expect(replies[50].errorMessage?.contains("unknown command") == true)
            #expect(replies[0] == .simpleString("OK"))
            #expect(replies[101...].map { $0.integer } == (0..<100).map { Int64($0) })
            #expect(sample(registry, "switchboard_redis_round_trip_duration_seconds_count") == before + 1)
            #expect(sample(registry, #"switchboard_redis_commands_total{command="GET"}"#) == 100)
            #expect(sample(registry, #"switchboard_redis_errors_total{kind="server"}"#) == 1)
            await redis.close()
        }
    }

    @Test func authenticatesWithAPasswordOrAnACLUserAndSelectsTheDatabase() async throws {
        try await RedisServer.with(["--requirepass", "s3cret"]) { server in
            let admin = try client("redis://:s3cret@127.0.0.1:\(server.port)/3")
            try await admin.send(RedisCommand("SET", "where", "db3"))
            try await admin.send(RedisCommand("ACL", "SETUSER", "alice", "on", ">wonderland", "~*", "+@all"))
            let alice = try client("redis://alice:wonderland@127.0.0.1:\(server.port)")
            #expect(try await alice.send(RedisCommand("ACL", "WHOAMI")).string == "alice")
            // Database 0 does not see database 3's key.
            #expect(try await alice.send(RedisCommand("GET", "where")) == .null)
            let inThree = try client("redis://alice:wonderland@127.0.0.1:\(server.port)/3")
            #expect(try await inThree.send(RedisCommand("GET", "where")).string == "db3")

            let wrong = try client("redis://:nope@127.0.0.1:\(server.port)")
            await #expect {
                try await wrong.send(RedisCommand("PING"))
            } throws: { error in
                let error = error as? RedisError
                return error?.code == .handshake && error?.message.contains("AUTH refused") == true
            }
            let anonymous = try client(server.url)
            await #expect {
                try await anonymous.send(RedisCommand("GET", "where"))
            } throws: { error in
                (error as? RedisError)?.message.contains("NOAUTH") == true
            }
            for redis in [admin, alice, inThree, wrong, anonymous] { await redis.close() }
        }
    }

    @Test func aConnectionTheServerClosedIsReplacedWithoutFailingTheCall() async throws {
        try await RedisServer.with { server in
            let registry = PrometheusCollectorRegistry()
            let redis = try client(server.url, registry: registry) { $0.poolSize = 1 }
            try await redis.send(RedisCommand("SET", "k", "v"))
            // Another client kills every other connection, as an idle timeout or a failover would.
            let killer = try client(server.url)
            #expect(try await killer.send(RedisCommand("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")) == .integer(1))
            #expect(try await redis.send(RedisCommand("GET", "k")).string == "v")
            #expect(sample(registry, "switchboard_redis_connects_total") == 2)
            #expect(redis.status.isUp == true)
            await redis.close()
            await killer.close()
        }
    }

    @Test func connectsOverAUnixSocket() async throws {
        try await RedisServer.with { server in
            let redis = try client("unix://\(server.socketPath)?db=1")
            try await redis.send(RedisCommand("SET", "via", "socket"))
            let tcp = try client(server.url + "/1")
            #expect(try await tcp.send(RedisCommand("GET", "via")).string == "socket")
            await redis.close()
            await tcp.close()
        }
    }

    @Test func aRefusedConnectionIsAConnectErrorThenCallsFailFast() async throws {
        let port = TestEnvironment.freePorts(1)
        let registry = PrometheusCollectorRegistry()
        let redis = try client("redis://127.0.0.1:\(port)", registry: registry)
        await #expect {
            try await redis.send(RedisCommand("PING"))
        } throws: { error in
            let error = error as? RedisError
            return error?.code == .connect && error?.message.contains("refused") == true
        }
        // While backing off, calls do not touch the network.
        await #expect {
            try await redis.send(RedisCommand("PING"))
        } throws: { error in
            (error as? RedisError)?.code == .unavailable
        }
        #expect(redis.status.isUp == false)
        #expect(sample(registry, #"switchboard_redis_errors_total{kind="unavailable"}"#) == 1)
        #expect(sample(registry, "switchboard_redis_up") == 0)
    }

    @Test func aCommandTimeoutDropsTheConnectionAndTheClientRecovers() async throws {
        try await RedisServer.with { server in
            let redis = try client(server.url) { $0.commandTimeout = .milliseconds(200) }
            #expect(await redis.ping())
            await #expect {
                try await redis.send(RedisCommand("DEBUG", "SLEEP", "1"))
            } throws: { error in
                let error = error as? RedisError
                return error?.code == .timeout && error?.message.contains("no reply") == true
            }
            #expect(redis.status.isUp == false)
            await #expect {
                try await redis.send(RedisCommand("PING"))
            } throws: { error in
                (error as? RedisError)?.code == .unavailable
            }
            try await eventually("the client answers again") { await redis.ping() }
            #expect(redis.status.isUp == true)
            await redis.close()
        }
    }

    @Test func theProberReconnectsByItselfWhenTheServerReturns() async throws {
        let server = try await RedisServer.start()
        let redis = try client(server.url)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await redis.run() }
            defer { group.cancelAll() }
            try await eventually("the prober connects") { redis.status.isUp == true }
            try await redis.send(RedisCommand("SET", "before", "1"))
            await server.stop()
            // The next command finds the connection dead; the reconnect is refused; then calls fail fast.
            var codes: [RedisError.Code] = []
            for _ in 0..<3 {
                do throws(RedisError) {
                    try await redis.send(RedisCommand("PING"))
                } catch {
                    codes.append(error.code)
                }
            }
            #expect(codes.count == 3)
            #expect(codes.last == .unavailable)
            try await eventually("the client notices the outage") { redis.status.isUp == false }
            try await server.restart()
            // No calls from here on: the background prober alone brings the client back.
            try await eventually("the prober reconnects") { redis.status.isUp == true }
            #expect(try await redis.send(RedisCommand("GET", "before")) == .null)
        }
        await redis.close()
        await server.stop()
    }

    @Test func scriptsRunBySHAAndSurviveAScriptFlush() async throws {
        try await RedisServer.with { server in
            let redis = try client(server.url)
            let script = RedisScript("return {KEYS[1], tonumber(ARGV[1]) * 2}")
            #expect(try await redis.evaluate(script, keys: ["k"], arguments: [21]) == .array([.bulkString(Array("k".utf8)), .integer(42)]))
            let sha = try #require(script.sha)
            #expect(sha.count == 40)
            try await redis.send(RedisCommand("SCRIPT", "FLUSH"))
            #expect(try await redis.evaluate(script, keys: ["j"], arguments: [1]) == .array([.bulkString(Array("j".utf8)), .integer(2)]))
            #expect(try await redis.send(RedisCommand("SCRIPT", "EXISTS", sha)) == .array([.integer(1)]))
            let failing = RedisScript("return redis.call('INCR', KEYS[1])")
            try await redis.send(RedisCommand("SET", "text", "abc"))
            await #expect {
                try await redis.evaluate(failing, keys: ["text"], arguments: [])
            } throws: { error in
                (error as? RedisError)?.code == .server
            }
            await redis.close()
        }
    }

    @Test func concurrentCallersShareABoundedPool() async throws {
        try await RedisServer.with { server in
            let registry = PrometheusCollectorRegistry()
            let redis = try client(server.url, registry: registry) { $0.poolSize = 3 }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<300 {
                    group.addTask { try await redis.send(RedisCommand("INCR", "counter")) }
                }
                try await group.waitForAll()
            }
            #expect(try await redis.send(RedisCommand("GET", "counter")).integer == 300)
            let clients = try await redis.send(RedisCommand("CLIENT", "LIST")).string ?? ""
            #expect(clients.split(separator: "\n").count <= 3)
            #expect((sample(registry, "switchboard_redis_connections_open") ?? 99) <= 3)
            #expect(sample(registry, "switchboard_redis_pool_in_flight") == 0)
            await redis.close()
            #expect(sample(registry, "switchboard_redis_connections_open") == 0)
        }
    }

    /// Four commands blocking for a second each must not stall the cooperative pool (two threads here):
    /// a heartbeat task keeps ticking while they wait on their own executors.
    @Test func blockingCommandsLeaveTheCooperativePoolFree() async throws {
        try await RedisServer.with { server in
            let redis = try client(server.url) {
                $0.poolSize = 4
                $0.commandTimeout = .seconds(5)
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<4 {
                    group.addTask { _ = try await redis.send(RedisCommand("BLPOP", "never-\(index)", "1")) }
                }
                var worstGap: Duration = .zero
                var last = ContinuousClock.now
                let end = last + .milliseconds(900)
                while ContinuousClock.now < end {
                    try await Task.sleep(for: .milliseconds(5))
                    let now = ContinuousClock.now
                    worstGap = max(worstGap, now - last)
                    last = now
                }
                try await group.waitForAll()
                // A blocked pool would show a gap of about a second.
                #expect(worstGap < .milliseconds(500), "heartbeat stalled for \(worstGap)")
            }
            await redis.close()
        }
    }
}
