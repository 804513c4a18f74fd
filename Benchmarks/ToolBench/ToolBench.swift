import AsyncHTTPClient
import BenchSupport
import Foundation
import NIOCore
import NIOHTTP1
import SwitchboardCore

/// `make bench` for the tool service: starts the release `ToolService` binary on a free port and measures
/// 1. framework overhead per call: `list_processes` (a tool that does no work) against `GET /health` on
///    the same server, sequential and with 8 concurrent keep-alive connections;
/// 2. `search_files` on a generated 100,000-file tree against ripgrep and grep in the same run;
/// 3. process spawn latency of `execute_command` (`true`) against a bare `posix_spawn` of the same program.
/// Prints Markdown tables for docs/benchmarks.md.
@main
struct ToolBench {
    static func main() async throws {
        let arguments = CommandLine.arguments
        let binaries = URL(fileURLWithPath: arguments[0]).deletingLastPathComponent().path
        let files = Int(ProcessInfo.processInfo.environment["BENCH_FILES"] ?? "") ?? 100_000
        let base = NSTemporaryDirectory() + "switchboard-bench-\(getpid())"
        let workspace = base + "/work"
        let control = base + "/control"
        try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: control, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        try #"{"roots":["\#(workspace)"],"limits":{"sessions":4}}"#.write(toFile: control + "/policy.json", atomically: true, encoding: .utf8)

        print("# machine: \(BenchHost.machine())")
        print("generating \(files) files …")
        let tree = workspace + "/tree"
        let generated = try generateTree(at: tree, files: files)
        print("tree: \(files) files, \(generated / 1_048_576) MiB\n")

        let port = BenchHost.freePort()
        var launch = ProcessLaunch(executable: binaries + "/ToolService", arguments: ["--port", String(port)])
        launch.environment["SWITCHBOARD_SERVICE_SECRET"] = "bench"
        launch.environment["SWITCHBOARD_POLICY_FILE"] = control + "/policy.json"
        launch.environment["SWITCHBOARD_AUDIT_LOG"] = control + "/audit.jsonl"
        launch.environment["SWITCHBOARD_AUDIT_MAX_SIZE"] = "256MiB"
        launch.environment["SWITCHBOARD_LOG_LEVEL"] = "error"
        launch.stderr = .inherit
        let service = try await ChildProcess.spawn(launch)
        defer { service.signal(SIGKILL) }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(connectionPool: .init(idleTimeout: .seconds(60))))
        defer { _ = client.shutdown() }
        let api = API(client: client, base: "http://127.0.0.1:\(port)")
        try await api.waitUntilUp()

        print("## Framework overhead per call\n")
        print("| what | connections | calls | p50 | p99 | calls/s |")
        print("|---|---|---|---|---|---|")
        for connections in [1, 8] {
            let calls = connections == 1 ? 5_000 : 20_000
            _ = try await measure(calls: 500, connections: connections) { try await api.health() }
            let health = try await measure(calls: calls, connections: connections) { try await api.health() }
            print(health.row("GET /health (HTTP stack only)", connections: connections))
            _ = try await measure(calls: 500, connections: connections) { _ = try await api.call("list_processes", "{}") }
            let tool = try await measure(calls: calls, connections: connections) { _ = try await api.call("list_processes", "{}") }
            print(tool.row("tools/call list_processes", connections: connections))
            print("| overhead of the tool framework (p50 difference) | \(connections) | | \(format(tool.p50 - health.p50)) | | |")
        }

        print("\n## search_files on \(files) files vs ripgrep and grep (warm cache, median of 5)\n")
        print("| what | command | median | results |")
        print("|---|---|---|---|")
        let query = "needle-7f3a"
        let contentArguments = #"{"path":"tree","query":"\#(query)","max_results":10000,"case_sensitive":true}"#
        let nameArguments = #"{"path":"tree","pattern":"*_42.txt","max_results":10000}"#
        _ = try await api.call("search_files", contentArguments)
        let (ours, found) = try await median(5) { try await api.results("search_files", contentArguments) }
        print("| content, literal | search_files over HTTP | \(format(ours)) | \(found) lines |")
        for (label, program, args) in [
            ("content, literal", "/usr/bin/rg", ["--no-ignore", "-n", "-F", "-s", query, tree]),
            ("content, literal", "/usr/bin/grep", ["-rnF", query, tree]),
        ] where FileManager.default.isExecutableFile(atPath: program) {
            let (time, lines) = try await median(5) { try await run(program, args) }
            print("| \(label) | `\((program as NSString).lastPathComponent) \(args.dropLast().joined(separator: " ")) <tree>` | \(format(time)) | \(lines) lines |")
        }
        let regexArguments = #"{"path":"tree","query":"needle-[0-9a-f]{4}","regex":true,"max_results":10000,"case_sensitive":true}"#
        let (oursRegex, foundRegex) = try await median(5) { try await api.results("search_files", regexArguments) }
        print("| content, regex | search_files over HTTP | \(format(oursRegex)) | \(foundRegex) lines |")
        for (program, args) in [("/usr/bin/rg", ["--no-ignore", "-n", "-s", "needle-[0-9a-f]{4}", tree]), ("/usr/bin/grep", ["-rnE", "needle-[0-9a-f]{4}", tree])]
        where FileManager.default.isExecutableFile(atPath: program) {
            let (time, lines) = try await median(5) { try await run(program, args) }
            print("| content, regex | `\((program as NSString).lastPathComponent) \(args.dropLast().joined(separator: " ")) <tree>` | \(format(time)) | \(lines) lines |")
        }
        let (oursNames, foundNames) = try await median(5) { try await api.results("search_files", nameArguments) }
        print("| names, glob | search_files over HTTP | \(format(oursNames)) | \(foundNames) files |")
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/rg") {
            let (time, lines) = try await median(5) { try await run("/usr/bin/rg", ["--no-ignore", "--files", "-g", "*_42.txt", tree]) }
            print("| names, glob | `rg --no-ignore --files -g '*_42.txt' <tree>` | \(format(time)) | \(lines) files |")
        }
        let (findTime, names) = try await median(5) { try await run("/usr/bin/find", [tree, "-name", "*_42.txt"]) }
        print("| names, glob | `find <tree> -name '*_42.txt'` | \(format(findTime)) | \(names) files |")

        print("\n## Process spawn latency of execute_command (`true`, sequential)\n")
        print("| what | runs | p50 | p99 |")
        print("|---|---|---|---|")
        let spawnArguments = #"{"command":"true"}"#
        _ = try await measure(calls: 20, connections: 1) { _ = try await api.call("execute_command", spawnArguments) }
        let spawns = try await measure(calls: 300, connections: 1) { _ = try await api.call("execute_command", spawnArguments) }
        print("| execute_command over HTTP (policy, Landlock, cgroup, rlimits, capabilities) | 300 | \(format(spawns.p50)) | \(format(spawns.p99)) |")
        let bare = try await measure(calls: 300, connections: 1) { _ = try await run("/usr/bin/true", []) }
        print("| bare fork/exec + wait of /usr/bin/true from the benchmark process | 300 | \(format(bare.p50)) | \(format(bare.p99)) |")
    }

    // MARK: Measuring

    struct Sample {
        let durations: [Duration]
        let total: Duration
        var p50: Duration { durations[durations.count / 2] }
        var p99: Duration { durations[min(durations.count - 1, durations.count * 99 / 100)] }
        func row(_ label: String, connections: Int) -> String {
            let rate = Double(durations.count) / (Double(total.components.seconds) + Double(total.components.attoseconds) / 1e18)
            return "| \(label) | \(connections) | \(durations.count) | \(format(p50)) | \(format(p99)) | \(Int(rate)) |"
        }
    }

    static func measure(calls: Int, connections: Int, _ body: @escaping @Sendable () async throws -> Void) async throws -> Sample {
        let start = ContinuousClock.now
        let durations = try await withThrowingTaskGroup(of: [Duration].self) { group in
            for worker in 0..<connections {
                group.addTask {
                    var local: [Duration] = []
                    for _ in stride(from: worker, to: calls, by: connections) {
                        let begin = ContinuousClock.now
                        try await body()
                        local.append(ContinuousClock.now - begin)
                    }
                    return local
                }
            }
            var all: [Duration] = []
            for try await part in group { all += part }
            return all
        }
        return Sample(durations: durations.sorted(), total: ContinuousClock.now - start)
    }

    /// The median time of `runs` runs, and what the last run counted.
    static func median(_ runs: Int, _ body: @Sendable () async throws -> Int) async throws -> (Duration, Int) {
        var times: [Duration] = []
        var count = 0
        for _ in 0..<runs {
            let start = ContinuousClock.now
            count = try await body()
            times.append(ContinuousClock.now - start)
        }
        return (times.sorted()[runs / 2], count)
    }

    static func format(_ duration: Duration) -> String {
        let micros = Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
        if abs(micros) >= 1_000_000 { return String(format: "%.2f s", micros / 1e6) }
        if abs(micros) >= 1000 { return String(format: "%.2f ms", micros / 1000) }
        return String(format: "%.0f µs", micros)
    }

    /// Runs a program to its end; returns the number of output lines.
    static func run(_ program: String, _ arguments: [String]) async throws -> Int {
        var launch = ProcessLaunch(executable: program, arguments: arguments)
        launch.stdout = .pipe
        let child = try await ChildProcess.spawn(launch)
        var lines = 0
        if let stream = child.stdout {
            for await chunk in stream { lines += chunk.reduce(0) { $0 + ($1 == 10 ? 1 : 0) } }
        }
        _ = await child.wait()
        return lines
    }

    // MARK: Setup

    /// 10 × 10 directories of files / 100 files each, 1–4 KiB of text; one line in every 2,000th file holds the needle.
    static func generateTree(at root: String, files: Int) throws -> Int {
        var bytes = 0
        let words = ["alpha", "beta", "gamma", "delta", "swift", "search", "file", "tool", "policy", "gateway", "replica", "metric"]
        var generator = SystemRandomNumberGenerator()
        let perDirectory = max(1, files / 100)
        for index in 0..<files {
            let directory = "\(root)/d\(index / perDirectory / 10)/e\(index / perDirectory)"
            if index % perDirectory == 0 { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
            var text = ""
            let lines = Int.random(in: 20...80, using: &generator)
            for line in 0..<lines {
                text += (0..<8).map { _ in words.randomElement(using: &generator)! }.joined(separator: " ")
                if index % 2000 == 0 && line == lines / 2 { text += " needle-7f3a" }
                text += "\n"
            }
            bytes += text.utf8.count
            _ = FileManager.default.createFile(atPath: "\(directory)/file_\(index % perDirectory).txt", contents: Data(text.utf8))
        }
        return bytes
    }

    /// The tool service's `/v1` API over pooled keep-alive connections.
    struct API: Sendable {
        let client: HTTPClient
        let base: String

        func health() async throws {
            let response = try await client.execute(HTTPClientRequest(url: base + "/health"), timeout: .seconds(30))
            _ = try await response.body.collect(upTo: 1 << 20)
        }

        func call(_ tool: String, _ arguments: String) async throws -> ByteBuffer {
            var request = HTTPClientRequest(url: base + ToolServiceAPI.callPath)
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer bench")
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: ToolServiceAPI.callBody(name: tool, arguments: Array(arguments.utf8))))
            let response = try await client.execute(request, timeout: .seconds(300))
            let body = try await response.body.collect(upTo: 256 << 20)
            guard response.status == .ok else { throw BenchError(message: "\(tool): HTTP \(response.status.code): \(String(buffer: body))") }
            return body
        }

        /// Calls a tool and counts the results of its structured content.
        func results(_ tool: String, _ arguments: String) async throws -> Int {
            let result = try JSONParser.parse(try await call(tool, arguments))
            return result["structuredContent"]?["results"]?.arrayValue?.count ?? -1
        }

        func waitUntilUp() async throws {
            for _ in 0..<300 {
                if (try? await health()) != nil { return }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw BenchError(message: "the tool service did not start")
        }
    }

    struct BenchError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}
