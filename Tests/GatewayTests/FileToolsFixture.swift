import Foundation
import Hummingbird
import NIOCore
import Synchronization
import SwitchboardCore
import SwitchboardTestSupport

/// A small tool service speaking the tool service's `/v1` contract over a real temporary directory,
/// with file tools named and shaped like the real ones (`path`, `source`/`destination`, `cwd`). It counts
/// how often each tool actually ran, which is what the cache tests observe.
final class FileToolsFixture: Sendable {
    let root: URL
    let port: Int
    private let counts = Mutex<[String: Int]>([:])
    /// Extra time `slow_read` takes.
    let slowness: Duration

    init(slowness: Duration = .milliseconds(300)) {
        root = TestEnvironment.temporaryDirectory("file-tools")
        port = TestEnvironment.freePorts(1)
        self.slowness = slowness
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// How many times `tool` ran.
    func calls(_ tool: String) -> Int { counts.withLock { $0[tool] ?? 0 } }

    func write(_ path: String, _ text: String) throws {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    static func tool(_ name: String, readOnly: Bool, idempotent: Bool = false, properties: [String]) -> JSONValue {
        [
            "name": .string(name),
            "description": .string("fixture \(name)"),
            "inputSchema": ["type": "object", "properties": .object(properties.map { ($0, ["type": "string"]) })],
            "annotations": ["readOnlyHint": .bool(readOnly), "idempotentHint": .bool(idempotent)],
        ]
    }

    static let catalog: [JSONValue] = [
        tool("read_file", readOnly: true, properties: ["path"]),
        tool("list_directory", readOnly: true, properties: ["path"]),
        tool("slow_read", readOnly: true, properties: ["path"]),
        tool("failing_read", readOnly: true, properties: ["path"]),
        tool("big_read", readOnly: true, properties: ["size"]),
        tool("whoami", readOnly: true, properties: []),
        tool("plain_read", readOnly: false, properties: ["path"]),
        tool("write_file", readOnly: false, properties: ["path", "content"]),
        tool("put_file", readOnly: false, idempotent: true, properties: ["path", "content"]),
        tool("move_file", readOnly: false, properties: ["source", "destination"]),
        tool("execute_command", readOnly: false, properties: ["command", "cwd"]),
    ]

    /// Runs the fixture on its port for the duration of `body`.
    func run<Value: Sendable>(_ body: @Sendable () async throws -> Value) async throws -> Value {
        let router = Router()
        router.get("v1/tools") { _, _ in
            Response.json(["tools": .array(Self.catalog)])
        }
        router.post("v1/tools/call") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            let call = try JSONParser.parse(body)
            let principal = request.headers[.switchboardPrincipal] ?? ""
            return Response.json(try await self.call(call["name"]?.stringValue ?? "", call["arguments"] ?? [:], principal: principal))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        return try await LiveService.with(app, port: port, body)
    }

    private func result(_ text: String, isError: Bool = false) -> JSONValue {
        ["content": [["type": "text", "text": .string(text)]], "isError": .bool(isError)]
    }

    private func call(_ name: String, _ arguments: JSONValue, principal: String) async throws -> JSONValue {
        counts.withLock { $0[name, default: 0] += 1 }
        let file = { (key: String) -> URL in
            let path = arguments[key]?.stringValue ?? ""
            return path.hasPrefix("/") ? URL(fileURLWithPath: path) : self.root.appendingPathComponent(path)
        }
        switch name {
        case "read_file", "plain_read":
            guard let text = try? String(contentsOf: file("path"), encoding: .utf8) else { return result("no such file", isError: true) }
            return result(text)
        case "slow_read":
            try await Task.sleep(for: slowness)
            return result((try? String(contentsOf: file("path"), encoding: .utf8)) ?? "")
        case "failing_read":
            return result("cannot read \(arguments["path"]?.stringValue ?? "")", isError: true)
        case "big_read":
            return result(String(repeating: "x", count: Int(arguments["size"]?.stringValue ?? "0") ?? 0))
        case "whoami":
            return result(principal)
        case "list_directory":
            let names = (try? FileManager.default.contentsOfDirectory(atPath: file("path").path)) ?? []
            return result(names.sorted().joined(separator: "\n"))
        case "write_file", "put_file":
            let target = file("path")
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try (arguments["content"]?.stringValue ?? "").write(to: target, atomically: true, encoding: .utf8)
            return result("written")
        case "move_file":
            try FileManager.default.moveItem(at: file("source"), to: file("destination"))
            return result("moved")
        case "execute_command":
            // Supports `touch NAME`: creates NAME in cwd (or the root).
            let name = String((arguments["command"]?.stringValue ?? "").dropFirst("touch ".count))
            let directory = arguments["cwd"]?.stringValue.map { root.appendingPathComponent($0) } ?? root
            try "".write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
            return result("ran")
        default:
            return result("unknown tool \(name)", isError: true)
        }
    }
}
