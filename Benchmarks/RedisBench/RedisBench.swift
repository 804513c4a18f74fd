import AsyncHTTPClient
import BenchSupport
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SwitchboardCore

/// `make bench` (Redis part): the hiredis client's throughput next to `redis-benchmark` on the same
/// server in the same run, and tools/call latency through a real gateway with and without the cache.
/// Prints Markdown tables on stdout.
///
/// usage: RedisBench [--bin .build/release] [--ops 20000] [--requests 3000]
@main
struct RedisBench {
    static func main() async throws {
        var bin = ".build/release"
        var ops = 20_000
        var requests = 3_000
        var arguments = CommandLine.arguments.dropFirst().makeIterator()
        while let argument = arguments.next() {
            switch argument {
            case "--bin": bin = arguments.next() ?? bin
            case "--ops": ops = Int(arguments.next() ?? "") ?? ops
            case "--requests": requests = Int(arguments.next() ?? "") ?? requests
            default:
                FileHandle.standardError.write(Data("usage: RedisBench [--bin DIR] [--ops N] [--requests N]\n".utf8))
                exit(2)
            }
        }
        let redis = try await Server.redis()
        do {
            try await clientThroughput(port: redis.port, ops: ops)
            try await gatewayLatency(bin: bin, redisPort: redis.port, requests: requests)
        } catch {
            await redis.stop()
            throw error
        }
        await redis.stop()
    }

    // MARK: Client throughput

    static func clientThroughput(port: Int, ops: Int) async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        var configuration = try RedisConfiguration(url: "redis://127.0.0.1:\(port)")
        configuration.poolSize = 4
        let client = RedisClient(configuration: configuration, logger: logger)
        let value = [UInt8](repeating: 120, count: 3)
        _ = await client.ping()

        func rate(_ count: Int, _ body: () async throws -> Void) async rethrows -> Double {
            let start = ContinuousClock.now
            try await body()
            return Double(count) / (ContinuousClock.now - start).seconds
        }
        let sequentialSet = try await rate(ops) {
            for index in 0..<ops { try await client.send(RedisCommand("SET", "key:\(index % 1000)", value)) }
        }
        let sequentialGet = try await rate(ops) {
            for index in 0..<ops { try await client.send(RedisCommand("GET", "key:\(index % 1000)")) }
        }
        let pipelinedOps = ops * 10
        let pipelinedSet = try await rate(pipelinedOps) {
            for batch in 0..<(pipelinedOps / 100) {
                _ = try await client.pipeline((0..<100).map { RedisCommand("SET", "key:\((batch * 100 + $0) % 1000)", value) })
            }
        }
        let concurrentSet = try await rate(ops * 2) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        for index in 0..<(ops / 2) { try await client.send(RedisCommand("SET", "key:\((worker * ops + index) % 1000)", value)) }
                    }
                }
                try await group.waitForAll()
            }
        }
        await client.close()

        func benchmark(_ extra: [String]) async throws -> [String: Double] {
            let result = try await Server.capture("redis-benchmark", ["-p", String(port), "-t", "set,get", "-n", String(max(ops * 5, 100_000)), "-d", "3", "--csv"] + extra)
            var rates: [String: Double] = [:]
            for line in result.split(separator: "\n") {
                let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
                if fields.count > 1, let rps = Double(fields[1]) { rates[fields[0]] = rps }
            }
            return rates
        }
        let single = try await benchmark(["-c", "1"])
        let pipelined = try await benchmark(["-c", "1", "-P", "100"])
        let four = try await benchmark(["-c", "4"])

        print("### Redis client throughput (3-byte values, redis-server on the same machine)\n")
        print("| workload | switchboard client (hiredis, actor per connection) | redis-benchmark |")
        print("|---|---|---|")
        print("| SET, one caller, sequential | \(format(sequentialSet)) ops/s | \(format(single["SET"])) ops/s (`-c 1`) |")
        print("| GET, one caller, sequential | \(format(sequentialGet)) ops/s | \(format(single["GET"])) ops/s (`-c 1`) |")
        print("| SET, pipelines of 100 | \(format(pipelinedSet)) ops/s | \(format(pipelined["SET"])) ops/s (`-c 1 -P 100`) |")
        print("| SET, 4 concurrent callers, pool of 4 | \(format(concurrentSet)) ops/s | \(format(four["SET"])) ops/s (`-c 4`) |")
        print("")
    }

    // MARK: Gateway latency

    struct Scenario {
        let name: String
        let settings: [String: String]
        let meta: String?
    }

    static func gatewayLatency(bin: String, redisPort: Int, requests: Int) async throws {
        let secret = "bench-secret"
        let key = "sbk_bench"
        let toolsPort = BenchHost.freePort()
        let tools = try await Server.start("\(bin)/ToolService", environment: [
            "SWITCHBOARD_PORT": String(toolsPort), "SWITCHBOARD_SERVICE_SECRET": secret, "SWITCHBOARD_LOG_LEVEL": "error",
        ], port: toolsPort)
        let redisURL = "redis://127.0.0.1:\(redisPort)"
        let scenarios = [
            Scenario(name: "uncached (cache off)", settings: ["SWITCHBOARD_CACHE_TTL": "0"], meta: nil),
            Scenario(name: "in-process cache hit (no Redis)", settings: [:], meta: nil),
            Scenario(name: "Redis cache hit", settings: ["SWITCHBOARD_REDIS_URL": redisURL], meta: nil),
            Scenario(name: "Redis cache hit + rate limit", settings: ["SWITCHBOARD_REDIS_URL": redisURL, "SWITCHBOARD_RATE_LIMITS": "principal=1000000/1s"], meta: nil),
            Scenario(name: "Redis, client bypass (tool runs, result stored)", settings: ["SWITCHBOARD_REDIS_URL": redisURL], meta: #"{"switchboard/cache":"bypass"}"#),
        ]
        print("### tools/call through the gateway (`get_system_info`, sequential, \(requests) calls after 300 warm-up calls)\n")
        print("| scenario | p50 | p99 | mean | Redis round trips per call | req/s with 16 in flight |")
        print("|---|---|---|---|---|---|")
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        for scenario in scenarios {
            let port = BenchHost.freePort()
            var environment = [
                "SWITCHBOARD_PORT": String(port), "SWITCHBOARD_SERVICE_SECRET": secret, "SWITCHBOARD_LOG_LEVEL": "error",
                "SWITCHBOARD_TOOLS_URL": "http://127.0.0.1:\(toolsPort)", "SWITCHBOARD_LEARN_URL": "",
                "SWITCHBOARD_API_KEYS": "bench:" + Digest.hex(Digest.sha256(Array(key.utf8))),
            ]
            environment.merge(scenario.settings) { _, new in new }
            let gateway = try await Server.start("\(bin)/Gateway", environment: environment, port: port)
            do {
                let meta = scenario.meta.map { ",\"_meta\":\($0)" } ?? ""
                let body = #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_system_info","arguments":{}\#(meta)}}"#
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/mcp")
                request.method = .POST
                request.headers.add(name: "Authorization", value: "Bearer \(key)")
                request.headers.add(name: "Content-Type", value: "application/json")
                request.headers.add(name: "Accept", value: "application/json, text/event-stream")
                request.body = .bytes(ByteBuffer(string: body))
                let prepared = request
                let name = scenario.name
                let send: @Sendable () async throws -> Duration = {
                    let start = ContinuousClock.now
                    let response = try await http.execute(prepared, timeout: .seconds(10))
                    let bytes = try await response.body.collect(upTo: 1 << 20)
                    guard response.status == .ok, bytes.readableBytesView.firstRange(of: Array("\"result\"".utf8)) != nil else {
                        throw BenchError("\(name): \(response.status) \(String(buffer: bytes))")
                    }
                    return .now - start
                }
                for _ in 0..<300 { _ = try await send() }
                let before = try await roundTrips(http, port: port)
                var latencies: [Duration] = []
                latencies.reserveCapacity(requests)
                for _ in 0..<requests { latencies.append(try await send()) }
                let after = try await roundTrips(http, port: port)
                let concurrentStart = ContinuousClock.now
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<16 {
                        group.addTask { for _ in 0..<(requests / 16) { _ = try await send() } }
                    }
                    try await group.waitForAll()
                }
                let throughput = Double(requests / 16 * 16) / (ContinuousClock.now - concurrentStart).seconds
                latencies.sort()
                let mean = latencies.reduce(Duration.zero, +) / latencies.count
                let trips = scenario.settings["SWITCHBOARD_REDIS_URL"] == nil ? "0" : String(format: "%.2f", (after - before) / Double(requests))
                print("| \(scenario.name) | \(micro(latencies[latencies.count / 2])) | \(micro(latencies[latencies.count * 99 / 100])) | \(micro(mean)) | \(trips) | \(format(throughput)) |")
            } catch {
                await gateway.stop()
                throw error
            }
            await gateway.stop()
        }
        try await http.shutdown()
        await tools.stop()
        print("")
    }

    /// `switchboard_redis_round_trip_duration_seconds_count` from the gateway's `/metrics`.
    static func roundTrips(_ http: HTTPClient, port: Int) async throws -> Double {
        let response = try await http.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"), timeout: .seconds(5))
        let text = String(buffer: try await response.body.collect(upTo: 4 << 20))
        let prefix = "switchboard_redis_round_trip_duration_seconds_count "
        return text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Double($0.dropFirst(prefix.count)) } ?? 0
    }

    /// `48,300` (rounded to hundreds above 1,000).
    static func format(_ value: Double?) -> String {
        guard let value else { return "n/a" }
        let rounded = value >= 1000 ? Int((value / 100).rounded()) * 100 : Int(value.rounded())
        let digits = Array(String(rounded))
        var text = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { text += "," }
            text.append(digit)
        }
        return text
    }

    static func micro(_ duration: Duration) -> String {
        String(format: "%.0f µs", duration.seconds * 1e6)
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A child process the benchmark started, stopped with SIGTERM (its whole process group).
struct Server {
    let process: ChildProcess
    let port: Int

    static func which(_ program: String) throws -> String {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw BenchError("\(program) not found on PATH (apt-get install redis-server)")
    }

    static func redis() async throws -> Server {
        let port = BenchHost.freePort()
        let directory = NSTemporaryDirectory() + "redis-bench-\(port)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var launch = ProcessLaunch(
            executable: try which("redis-server"), arguments: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory]
        )
        launch.workingDirectory = directory
        return try await start(launch, port: port)
    }

    static func start(_ executable: String, environment: [String: String], port: Int) async throws -> Server {
        var base = ProcessInfo.processInfo.environment
        base.merge(environment) { _, new in new }
        return try await start(ProcessLaunch(executable: executable, environment: base), port: port)
    }

    static func start(_ launch: ProcessLaunch, port: Int) async throws -> Server {
        let process = try await ChildProcess.spawn(launch)
        let server = Server(process: process, port: port)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if process.status != nil { throw BenchError("\(launch.executable) exited: \(process.status!)") }
            if canConnect(port) { return server }
            try await Task.sleep(for: .milliseconds(20))
        }
        await server.stop()
        throw BenchError("\(launch.executable) did not listen on \(port)")
    }

    func stop() async {
        _ = await process.stop(signal: SIGTERM, grace: .seconds(10))
    }

    static func canConnect(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 } }
    }

    /// Runs a program to completion and returns its standard output.
    static func capture(_ program: String, _ arguments: [String]) async throws -> String {
        var launch = ProcessLaunch(executable: try which(program), arguments: arguments)
        launch.stdout = .pipe
        let process = try await ChildProcess.spawn(launch)
        var output: [UInt8] = []
        if let stdout = process.stdout { for await chunk in stdout { output.append(contentsOf: chunk) } }
        _ = await process.wait()
        return String(decoding: output, as: UTF8.self)
    }
}
