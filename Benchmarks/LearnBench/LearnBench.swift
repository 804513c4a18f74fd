import AsyncHTTPClient
import BenchSupport
import Foundation
import Learning
import NIOCore
import NIOHTTP1
import SwitchboardCore

/// `make bench-learn`: the learn service's performance targets (issue 8).
/// 1. In-process, on the `Learning` models the service holds: p50/p99 of a next-call prediction and of each
///    per-event update the learner makes (routing, anomaly detector step, cache, call patterns, a forecast
///    bucket), and of all of them for one event.
/// 2. Memory per model as the models report it (`memoryBytes`, the figure behind
///    `switchboard_learn_model_memory_bytes`), on a typical workload and with every bound saturated.
/// 3. Over HTTP: the release `LearnService` on a free loopback port, concurrent senders POSTing batches of
///    call events to `/v1/events` for a bounded time; accepted events/s, drops, and how many were learned.
/// Prints Markdown for docs/benchmarks.md.
@main
struct LearnBench {
    static func main() async throws {
        let binaries = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        let environment = ProcessInfo.processInfo.environment
        let seconds = Int(environment["BENCH_SECONDS"] ?? "") ?? 10
        let senders = Int(environment["BENCH_SENDERS"] ?? "") ?? 4
        let batch = Int(environment["BENCH_BATCH"] ?? "") ?? 500
        let rate = Int(environment["BENCH_RATE"] ?? "") ?? 50_000
        print("# machine: \(BenchHost.machine())\n")
        inProcess()
        memory()
        // Flat out (what the HTTP path and the learner manage together), then at the target rate offered.
        try await overHTTP(service: binaries + "/LearnService", seconds: seconds, senders: senders, batch: batch, rate: nil)
        if rate > 0 { try await overHTTP(service: binaries + "/LearnService", seconds: seconds, senders: senders, batch: batch, rate: rate) }
    }

    // MARK: Workload

    /// A synthetic gateway: 200 principals each running one of a few tool workflows with some noise,
    /// 20 tools, 4 replicas (one slower), 2 % errors, cache keys drawn from 5,000 per tool.
    struct Workload {
        static let tools = (0..<20).map { "tool_\($0)" }
        static let workflows = [[0, 1, 2, 3], [0, 4, 5], [6, 1, 7, 2, 8], [9, 10, 11], [12, 13, 12, 14]]
        var generator = SplitMix64(seed: 42)
        var step = [Int](repeating: 0, count: 200)
        var time = 1_732_000_000.0

        mutating func next() -> (event: CallEvent, key: String, result: String) {
            time += 0.01
            let principal = Int(generator.next() % 200)
            let workflow = Self.workflows[principal % Self.workflows.count]
            let tool = generator.next() % 10 == 0 ? Int(generator.next() % 20) : workflow[step[principal] % workflow.count]
            step[principal] += 1
            let replica = Int(generator.next() % 4)
            let latency = (replica == 3 ? 20.0 : 5.0) * (0.5 + Double(generator.next() % 1000) / 1000)
            let failed = generator.next() % 50 == 0
            let key = generator.next() % 5000
            let event = CallEvent(
                timestamp: time, tool: Self.tools[tool], principal: "principal_\(principal)", backend: "http://127.0.0.1:\(9100 + replica)",
                latencyMilliseconds: latency, outcome: failed ? .error : .ok, cacheHit: generator.next() % 4 == 0, argumentShape: ["path:string"]
            )
            return (event, "k\(key)", "r\(key ^ UInt64(time / 60))")
        }
    }

    // MARK: In-process

    /// The models of `LearnedModels` (Sources/LearnService), fed the way its `apply` feeds them.
    struct Models {
        var routing = RoutingModel()
        var cache = CacheModel()
        var patterns = CallPatternMiner()
        var latency = SeriesDetector.make()
        var forecaster = LoadForecaster(configuration: .init(periods: LoadForecaster.Configuration.periods(bucketSeconds: 300), horizon: 1))

        /// Feeds `count` events of `workload` to every model but the forecaster.
        mutating func train(_ count: Int, from workload: inout Workload) {
            for _ in 0..<count {
                let (event, key, result) = workload.next()
                routing.observe(replica: event.backend, latency: event.latencyMilliseconds / 1000, failed: event.outcome == .error, at: event.timestamp)
                _ = latency.process(event.latencyMilliseconds)
                cache.observe(tool: event.tool, key: StableHash.fnv1a(key), result: StableHash.fnv1a(result), cacheHit: event.cacheHit, at: event.timestamp)
                patterns.observe(principal: event.principal, tool: event.tool, key: key, at: event.timestamp)
            }
        }
    }

    /// The detector settings of the service's `SeriesWatch` (probation 750, 512 windows per channel).
    enum SeriesDetector {
        static func make() -> NoveltyDetector {
            var configuration = NoveltyDetector.Configuration(probation: 750)
            configuration.capacity = 512
            return NoveltyDetector(configuration: configuration)
        }
    }

    static func inProcess() {
        var workload = Workload()
        var models = Models()
        // Warm up past every probation and fill the pattern tables.
        models.train(200_000, from: &workload)
        for _ in 0..<3_000 { models.forecaster.observe(Double(workload.generator.next() % 1000)) }

        let count = 100_000
        var events: [(event: CallEvent, key: String, result: String, hashedKey: UInt64, hashedResult: UInt64)] = []
        events.reserveCapacity(count)
        for _ in 0..<count {
            let (event, key, result) = workload.next()
            events.append((event, key, result, StableHash.fnv1a(key), StableHash.fnv1a(result)))
        }
        var sink = 0.0
        print("## In-process (one thread, \(count) operations each, after 200,000 warm-up events)\n")
        print("| operation | mean | p50 | p99 | max |")
        print("|---|---|---|---|---|")
        print(row("next-call prediction (principal's session, top 3)", timed(count) { index in
            sink += models.patterns.predict(principal: events[index].event.principal, limit: 3).first?.probability ?? 0
        }))
        print(row("next-call prediction (given 2 recent calls, top 3)", timed(count) { index in
            let recent = [events[index].event.tool, events[(index + 1) % count].event.tool]
            sink += models.patterns.predict(principal: events[index].event.principal, recent: recent, limit: 3).first?.probability ?? 0
        }))
        print(row("update: routing (replica latency/errors)", timed(count) { index in
            let event = events[index].event
            models.routing.observe(replica: event.backend, latency: event.latencyMilliseconds / 1000, failed: event.outcome == .error, at: event.timestamp)
        }))
        print(row("update: anomaly detector step (one series)", timed(count) { index in
            sink += models.latency.process(events[index].event.latencyMilliseconds)
        }))
        print(row("update: cache TTL/admission", timed(count) { index in
            let item = events[index]
            models.cache.observe(tool: item.event.tool, key: item.hashedKey, result: item.hashedResult, cacheHit: item.event.cacheHit, at: item.event.timestamp)
        }))
        print(row("update: call patterns (n-grams, predictor, clusters)", timed(count) { index in
            let item = events[index]
            models.patterns.observe(principal: item.event.principal, tool: item.event.tool, key: item.key, at: item.event.timestamp)
        }))
        print(row("update: load forecast (one closed bucket)", timed(10_000) { index in
            models.forecaster.observe(Double(index % 1000))
        }))
        // The per-event work of LearnedModels.apply: routing, three detector steps (replica latency, tool
        // latency, tool error rate), cache, patterns; forecasts only when a bucket closes (every 5 min).
        var more = Models()
        more.routing = models.routing
        more.cache = models.cache
        more.patterns = models.patterns
        var detectors = [models.latency, models.latency, models.latency]
        print(row("update: all models for one event", timed(count) { index in
            let item = events[index]
            let event = item.event
            let failed = event.outcome == .error
            more.routing.observe(replica: event.backend, latency: event.latencyMilliseconds / 1000, failed: failed, at: event.timestamp)
            sink += detectors[0].process(event.latencyMilliseconds)
            sink += detectors[1].process(event.latencyMilliseconds)
            sink += detectors[2].process(failed ? 1 : 0)
            more.cache.observe(tool: event.tool, key: item.hashedKey, result: item.hashedResult, cacheHit: event.cacheHit, at: event.timestamp)
            more.patterns.observe(principal: event.principal, tool: event.tool, key: item.key, at: event.timestamp)
        }))
        if sink.isNaN { print("") }
        print("")
    }

    /// Runs `body` `count` times, timing each call.
    static func timed(_ count: Int, _ body: (Int) -> Void) -> [Duration] {
        var samples: [Duration] = []
        samples.reserveCapacity(count)
        let clock = ContinuousClock()
        for index in 0..<count {
            let began = clock.now
            body(index)
            samples.append(clock.now - began)
        }
        return samples.sorted()
    }

    static func row(_ label: String, _ sorted: [Duration]) -> String {
        let p50 = sorted[sorted.count / 2]
        let p99 = sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
        let mean = sorted.reduce(Duration.zero, +) / sorted.count
        return "| \(label) | \(format(mean)) | \(format(p50)) | \(format(p99)) | \(format(sorted.last!)) |"
    }

    // MARK: Memory

    static func memory() {
        var workload = Workload()
        var models = Models()
        models.train(200_000, from: &workload)
        for index in 0..<5_000 { models.forecaster.observe(Double(index % 300)) }

        // Every bound saturated: more replicas, keys, principals, tools and values than any model keeps.
        var generator = SplitMix64(seed: 7)
        var routing = RoutingModel()
        for index in 0..<5_000 { routing.observe(replica: "http://10.0.\(index / 250).\(index % 250):8081", latency: 0.005, failed: false, at: Double(index)) }
        var cache = CacheModel()
        for index in 0..<200_000 {
            cache.observe(tool: "tool_\(index % 500)", key: generator.next() % 100_000, result: generator.next() % 2, cacheHit: false, at: Double(index))
        }
        var patterns = CallPatternMiner()
        for index in 0..<400_000 {
            patterns.observe(principal: "principal_\(index % 6_000)", tool: "tool_\(generator.next() % 200)", key: "k\(generator.next() % 100_000)", at: Double(index) * 0.001)
        }
        var detector = SeriesDetector.make()
        for _ in 0..<50_000 { _ = detector.process(Double(generator.next() % 10_000)) }

        let cacheBound = CacheModel.bytes(configuration: cache.configuration, nameBytes: 15)
        let patternsBound = CallPatternMiner.bytes(configuration: patterns.configuration, nameBytes: 15)
        print("## Memory per model (bytes as the models report them, `switchboard_learn_model_memory_bytes` sums them)\n")
        print("| model | typical workload (20 tools, 200 principals, 4 replicas) | every bound saturated | bound by design |")
        print("|---|---|---|---|")
        print("| anomaly detector, one series | \(bytes(models.latency.memoryBytes)) | \(bytes(detector.memoryBytes)) (50,000 distinct values) | fixed (512 windows per channel) |")
        print("| routing weights | \(bytes(models.routing.memoryBytes)) | \(bytes(routing.memoryBytes)) (5,000 replicas seen, 1,024 kept) | 1,024 replicas |")
        print("| cache TTL/admission, all tools (one model) | \(bytes(models.cache.memoryBytes)) (\(models.cache.toolNames.count) tools) | \(bytes(cache.memoryBytes)) (500 tools and 100,000 keys seen; \(cache.configuration.tools) tools and \(cache.configuration.keys) keys kept) | \(bytes(cacheBound)) (tool names ≤ 15 bytes) |")
        print("| call patterns (sessions, n-grams, predictors, clusters) | \(bytes(models.patterns.memoryBytes)) | \(bytes(patterns.memoryBytes)) (6,000 principals, 200 tools, 100,000 keys) | \(bytes(patternsBound)) (names ≤ 15 bytes) |")
        print("| load forecast, one tool | \(bytes(models.forecaster.memoryBytes)) | same (fixed size) | fixed |")
        print("")
    }

    static func bytes(_ value: Int) -> String {
        value >= 1 << 20 ? String(format: "%.2f MiB", Double(value) / 1_048_576) : String(format: "%.1f KiB", Double(value) / 1024)
    }

    // MARK: HTTP ingest

    /// Senders POST as fast as answered, or together `rate` events/s when given.
    static func overHTTP(service: String, seconds: Int, senders: Int, batch: Int, rate: Int?) async throws {
        let port = BenchHost.freePort()
        var launch = ProcessLaunch(executable: service, arguments: ["--port", String(port)])
        launch.environment["SWITCHBOARD_SERVICE_SECRET"] = "bench"
        launch.environment["SWITCHBOARD_LOG_LEVEL"] = "error"
        launch.environment["SWITCHBOARD_LEARN_STATE_DIR"] = ""
        launch.stderr = .inherit
        let process = try await ChildProcess.spawn(launch)
        defer { process.signal(SIGKILL) }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(connectionPool: .init(idleTimeout: .seconds(60))))
        defer { _ = client.shutdown() }
        let api = API(client: client, base: "http://127.0.0.1:\(port)")
        try await api.waitUntilUp()

        // Bodies encoded ahead, so the senders spend their CPU on HTTP only; timestamps advance across bodies.
        var workload = Workload()
        let bodies = (0..<400).map { _ in
            var writer = JSONWriter(capacity: batch * 200)
            writer.raw("{\"events\":[")
            for index in 0..<batch {
                if index > 0 { writer.raw(",") }
                let (event, key, result) = workload.next()
                var item = JSONWriter(capacity: 200)
                event.write(into: &item)
                item.bytes.removeLast()
                writer.raw(item.bytes)
                writer.key("cache_key")
                writer.string(key)
                writer.key("result_hash")
                writer.string(result)
                writer.raw("}")
            }
            writer.raw("]}")
            return ByteBuffer(bytes: writer.bytes)
        }
        let bodyBytes = bodies.reduce(0) { $0 + $1.readableBytes } / bodies.count

        let began = ContinuousClock.now
        let deadline = began + .seconds(seconds)
        let totals = try await withThrowingTaskGroup(of: (posts: Int, accepted: Int, dropped: Int, latencies: [Duration]).self) { group in
            for sender in 0..<senders {
                group.addTask {
                    var result = (posts: 0, accepted: 0, dropped: 0, latencies: [Duration]())
                    var index = sender
                    // Paced senders start staggered and POST every `interval`.
                    let interval: Duration? = rate.map { .seconds(Double(batch * senders) / Double($0)) }
                    var due = began + (interval ?? .zero) * sender / senders
                    while ContinuousClock.now < deadline {
                        if let interval {
                            if due >= deadline { break }
                            try await Task.sleep(until: due, clock: .continuous)
                            due += interval
                        }
                        let sent = ContinuousClock.now
                        let answer = try await api.post(bodies[index % bodies.count])
                        result.latencies.append(ContinuousClock.now - sent)
                        result.posts += 1
                        result.accepted += answer.accepted
                        result.dropped += answer.dropped
                        index += senders
                    }
                    return result
                }
            }
            var sum = (posts: 0, accepted: 0, dropped: 0, latencies: [Duration]())
            for try await part in group {
                sum.posts += part.posts
                sum.accepted += part.accepted
                sum.dropped += part.dropped
                sum.latencies += part.latencies
            }
            return sum
        }
        let elapsed = inSeconds(ContinuousClock.now - began)
        // Let the learner drain the queue (bounded wait).
        var stats = try await api.stats()
        let drainDeadline = ContinuousClock.now + .seconds(60)
        while (stats["learned"]?.intValue ?? 0) < (stats["accepted"]?.intValue ?? 0) && ContinuousClock.now < drainDeadline {
            try await Task.sleep(for: .milliseconds(200))
            stats = try await api.stats()
        }
        let drained = inSeconds(ContinuousClock.now - began)
        let learned = Int(stats["learned"]?.intValue ?? 0)
        let update = try await api.histogram("switchboard_learn_update_duration_seconds")
        let latencies = totals.latencies.sorted()

        let offered = rate.map { "\($0) events/s offered" } ?? "as fast as answered"
        print("## Ingest over HTTP (release LearnService on loopback, \(senders) senders, \(batch) events per POST, \(offered), \(seconds) s)\n")
        print("| measure | value |")
        print("|---|---|")
        print("| POSTs | \(totals.posts) (\(bodyBytes / 1024) KiB each) |")
        print("| POST latency p50 / p99 | \(format(latencies[latencies.count / 2])) / \(format(latencies[latencies.count * 99 / 100])) |")
        print("| events sent | \(totals.posts * batch) |")
        print("| events accepted | \(totals.accepted) — \(Int(Double(totals.accepted) / elapsed)) events/s |")
        print("| events dropped (queue full) | \(totals.dropped) (\(percent(totals.dropped, of: totals.posts * batch))) |")
        print("| events learned | \(learned) — \(Int(Double(learned) / drained)) events/s until all accepted were learned (\(String(format: "%.1f", drained)) s) |")
        if let update {
            print("| model update per 256-event chunk (service histogram), mean | \(format(.seconds(update.sum / max(1, update.count)))) over \(Int(update.count)) chunks |")
        }
        print("| model memory reported by the service (`/v1/stats` memory_bytes) | \(bytes(Int(stats["memory_bytes"]?.intValue ?? 0))) in \(stats["watched_series"]?.intValue ?? 0) watched series + routing, cache, patterns, forecasts |")
        print("")
        _ = await process.stop(signal: SIGTERM, grace: .seconds(10))
    }

    static func inSeconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func percent(_ part: Int, of whole: Int) -> String {
        String(format: "%.1f %%", whole > 0 ? 100 * Double(part) / Double(whole) : 0)
    }

    static func format(_ duration: Duration) -> String {
        let nanoseconds = inSeconds(duration) * 1e9
        if nanoseconds < 1_000 { return String(format: "%.0f ns", nanoseconds) }
        if nanoseconds < 1_000_000 { return String(format: "%.1f µs", nanoseconds / 1e3) }
        return String(format: "%.2f ms", nanoseconds / 1e6)
    }

    /// The learn service's `/v1` API over pooled keep-alive connections.
    struct API: Sendable {
        let client: HTTPClient
        let base: String

        func post(_ body: ByteBuffer) async throws -> (accepted: Int, dropped: Int) {
            var request = HTTPClientRequest(url: base + "/v1/events")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer bench")
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(body)
            let response = try await client.execute(request, timeout: .seconds(60))
            let answer = try await response.body.collect(upTo: 1 << 20)
            guard response.status == .accepted else { throw BenchError(message: "POST /v1/events: HTTP \(response.status.code): \(String(buffer: answer))") }
            let json = try JSONParser.parse(answer)
            return (Int(json["accepted"]?.intValue ?? 0), Int(json["dropped"]?.intValue ?? 0))
        }

        func stats() async throws -> JSONValue {
            var request = HTTPClientRequest(url: base + "/v1/stats")
            request.headers.add(name: "Authorization", value: "Bearer bench")
            let response = try await client.execute(request, timeout: .seconds(30))
            return try JSONParser.parse(try await response.body.collect(upTo: 1 << 20))
        }

        /// Sum and count of a histogram on `/metrics`.
        func histogram(_ name: String) async throws -> (sum: Double, count: Double)? {
            let response = try await client.execute(HTTPClientRequest(url: base + "/metrics"), timeout: .seconds(30))
            let text = String(buffer: try await response.body.collect(upTo: 16 << 20))
            func value(_ suffix: String) -> Double? {
                text.split(separator: "\n").first { $0.hasPrefix(name + suffix + " ") || $0.hasPrefix(name + suffix + "{") }
                    .flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }
            }
            guard let sum = value("_sum"), let count = value("_count") else { return nil }
            return (sum, count)
        }

        func waitUntilUp() async throws {
            for _ in 0..<300 {
                if let response = try? await client.execute(HTTPClientRequest(url: base + "/health"), timeout: .seconds(5)), response.status == .ok { return }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw BenchError(message: "the learn service did not start")
        }
    }

    struct BenchError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}
