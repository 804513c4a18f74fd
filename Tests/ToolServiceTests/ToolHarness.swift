import Foundation
import Logging
import Prometheus
import SwitchboardCore
import SwitchboardTestSupport

@testable import ToolService

/// A workspace in a fresh temporary directory, a directory outside it holding a secret, a policy file
/// and audit log outside both, and the real runtime calling tools through ``ToolInvoker``.
final class ToolHarness: Sendable {
    /// The workspace root (real path).
    let root: String
    /// A sibling directory outside every root, with `secret.txt`.
    let outside: String
    /// Where the policy file and the audit log live.
    let control: String
    let runtime: ToolRuntime
    let catalog = ToolCatalog.standard()
    let invoker: ToolInvoker
    let registry = PrometheusCollectorRegistry()
    private let base: String

    var auditPath: String { control + "/audit.jsonl" }
    var policyPath: String { control + "/policy.json" }
    static let secret = "top-secret-\(UUID().uuidString)"

    /// `policy` members are merged over `{"roots":[root]}`; nil uses no policy file (the safe defaults).
    init(policy: JSONValue? = nil, auditMaxSize: Int = 10 << 20) throws {
        let base = TestEnvironment.temporaryDirectory("switchboard-tools").path
        self.base = base
        root = CommandPolicy.realPath(base + "/work") ?? base + "/work"
        try FileManager.default.createDirectory(atPath: base + "/work", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: base + "/outside", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: base + "/control", withIntermediateDirectories: true)
        outside = CommandPolicy.realPath(base + "/outside")!
        control = CommandPolicy.realPath(base + "/control")!
        try Self.secret.write(toFile: outside + "/secret.txt", atomically: true, encoding: .utf8)
        var file: String?
        if let policy {
            var document = JSONValue.object([("roots", [.string(CommandPolicy.realPath(base + "/work")!)])])
            for (key, value) in policy.objectValue ?? [] { document = document.setting(key, to: value) }
            try document.jsonString.write(toFile: control + "/policy.json", atomically: true, encoding: .utf8)
            file = control + "/policy.json"
        }
        let settings = ToolRuntime.Settings(
            workspace: CommandPolicy.realPath(base + "/work")!, policyFile: file, auditLog: control + "/audit.jsonl", auditMaxSize: auditMaxSize
        )
        var logger = Logger(label: "tools-test")
        logger.logLevel = .critical
        runtime = try ToolRuntime(settings, metrics: ToolMetrics(registry: registry), logger: logger)
        invoker = ToolInvoker(catalog: catalog, runtime: runtime, logger: logger)
    }

    /// Ends background processes and removes the directories (cgroup bases stay: other tests use them).
    func close() async {
        await runtime.processes.terminateAll()
        runtime.directories.remove()
        try? FileManager.default.removeItem(atPath: base)
    }

    /// Calls a tool the way the controller does.
    func call(_ name: String, _ arguments: JSONValue = [:], principal: String = "tester") async -> ToolResult {
        guard let tool = catalog[name] else { return .error("no tool \(name)") }
        let call = ToolInvoker.Call(
            name: name, arguments: arguments, argumentBytes: arguments.jsonBytes.count, principal: principal, requestID: RequestID.generate(),
            callID: RequestID.generate()
        )
        return await invoker.invoke(tool, call)
    }

    /// The result's text content.
    static func text(_ result: ToolResult) -> String {
        result.content.compactMap { $0["text"]?.stringValue }.joined(separator: "\n")
    }

    /// The rule of a denial, or nil when the result is not a denial.
    static func rule(_ result: ToolResult) -> String? {
        result.meta.first { $0.key == "switchboard/denial" }?.value["rule"]?.stringValue
    }

    /// A `_meta` member.
    static func meta(_ result: ToolResult, _ key: String) -> JSONValue? {
        result.meta.first { $0.key == key }?.value
    }

    /// Every audit record written so far.
    func auditRecords() throws -> [JSONValue] {
        let text = try String(contentsOfFile: auditPath, encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONParser.parse(String($0)) }
    }

    /// Writes a file below the root.
    func write(_ relative: String, _ text: String) throws {
        let path = root + "/" + relative
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: false, encoding: .utf8)
    }

    func read(_ relative: String) -> String? {
        try? String(contentsOfFile: root + "/" + relative, encoding: .utf8)
    }

    /// The Prometheus exposition of the tool metrics.
    var metricsText: String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    /// Whether any live process has `marker` in its command line.
    static func processRunning(withMarker marker: String) -> Bool {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return false }
        for entry in entries where entry.allSatisfy(\.isNumber) {
            guard let pid = pid_t(entry), ProcessProbe.isRunning(pid),
                let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
            else { continue }
            if String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(marker) { return true }
        }
        return false
    }
}
