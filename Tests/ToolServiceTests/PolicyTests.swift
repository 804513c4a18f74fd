import Foundation
import Logging
import ServiceLifecycle
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import ToolService

/// The policy file, its reload, and the audit log.
struct PolicyTests {
    @Test func theDefaultsAreSafe() throws {
        let policy = SecurityPolicy.defaults(workspace: "/srv/work")
        #expect(policy.roots == [.init(path: "/srv/work", writable: true)])
        #expect(policy.commands.shell == false)
        #expect(policy.commands.allow.contains("git"))
        #expect(!policy.commands.allow.contains("bash"))
        #expect(policy.commands.deny.contains("sudo"))
        #expect(!policy.sandbox.readOnly.contains("/etc"))
        #expect(policy.files.protected == [".switchboard"])
    }

    @Test func dangerousRootsAreRefused() throws {
        let directories = try SandboxDirectories.create()
        defer { directories.remove() }
        for root in ["/", "/proc", "/etc", "/sys/kernel", "/tmp/.."] {
            #expect(throws: PolicyError.self, "root \(root)") {
                _ = try ActivePolicy(SecurityPolicy.defaults(workspace: root), revision: 1, directories: directories)
            }
        }
        #expect(throws: PolicyError.self) {
            _ = try ActivePolicy(SecurityPolicy.defaults(workspace: "/no/such/dir"), revision: 1, directories: directories)
        }
    }

    @Test func relativeRootsStartAtTheCurrentDirectory() throws {
        let directory = TestEnvironment.temporaryDirectory("switchboard-relative-root").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The same directory written relative to wherever the tests run.
        let depth = FileManager.default.currentDirectoryPath.split(separator: "/").count
        let relative = String(repeating: "../", count: depth) + directory.dropFirst()
        let root = try WorkspaceRoot(path: relative, writable: true)
        #expect(root.path == CommandPolicy.realPath(directory))
    }

    @Test func policyFilesAreValidatedWithThePathOfTheBadKey() throws {
        let cases: [(JSONValue, String)] = [
            (["commands": ["shel": true]], "test.json: policy.commands.shel: is not allowed here (additionalProperties)"),
            (["limits": ["memory": true]], "test.json: policy.limits.memory: matches none of the allowed forms (anyOf)"),
            (["limits": ["timeout": "soon"]], "test.json: policy.limits.timeout: expected a duration such as 30s or 10m"),
            (["limits": ["timeout": "20m"]], "test.json: policy.limits.timeout (1200.0 seconds) exceeds policy.limits.max_timeout (600.0 seconds)"),
            (["sandbox": ["landlock": "maybe"]], #"test.json: policy.sandbox.landlock: must be one of "required", "best_effort", "off" (enum)"#),
            (["roots": []], "test.json: policy.roots: must have at least 1 items (minItems)"),
        ]
        for (document, message) in cases {
            #expect(throws: PolicyError.self) { _ = try SecurityPolicy.parse(document, workspace: "/w", source: "test.json") }
            do {
                _ = try SecurityPolicy.parse(document, workspace: "/w", source: "test.json")
            } catch {
                #expect(error.description == message)
            }
        }
        let parsed = try SecurityPolicy.parse(
            ["roots": ["/a", ["path": "/b", "write": false]], "commands": ["allow_extra": ["bash"], "shell": true], "limits": ["memory": "2GiB", "timeout": 5]],
            workspace: "/w", source: "p.json"
        )
        #expect(parsed.roots == [.init(path: "/a", writable: true), .init(path: "/b", writable: false)])
        #expect(parsed.commands.allow.contains("bash") && parsed.commands.allow.contains("git"))
        #expect(parsed.limits.memory == 2 << 30)
        #expect(parsed.limits.timeout == .seconds(5))
    }

    @Test func readOnlyRootsCanBeReadNotWritten() async throws {
        let reference = TestEnvironment.temporaryDirectory("switchboard-ref").path
        try "reference".write(toFile: reference + "/ref.txt", atomically: true, encoding: .utf8)
        let harness = try ToolHarness(policy: ["roots": [.string(TestEnvironment.temporaryDirectory("switchboard-w").path), ["path": .string(reference), "write": false]]])
        let read = await harness.call("read_file", ["path": .string(reference + "/ref.txt")])
        #expect(ToolHarness.text(read) == "reference")
        let write = await harness.call("write_file", ["path": .string(reference + "/ref.txt"), "content": "x"])
        #expect(ToolHarness.rule(write) == "path.read_only_root")
        if Landlock.abi > 0 {
            let command = await harness.call("execute_command", ["command": "cp", "args": [.string(reference + "/ref.txt"), .string(reference + "/copy.txt")]])
            #expect(command.structuredContent?["exit_code"] != 0)
            #expect(!FileManager.default.fileExists(atPath: reference + "/copy.txt"))
            let cat = await harness.call("execute_command", ["command": "cat", "args": [.string(reference + "/ref.txt")]])
            #expect(cat.structuredContent?["stdout"] == "reference")
        }
        await harness.close()
    }

    @Test func thePolicyReloadsWhenTheFileChangesAndKeepsTheOldOneOnErrors() async throws {
        let harness = try ToolHarness(policy: [:])
        let store = harness.runtime.policies
        #expect(store.current.revision == 1)
        let before = await harness.call("execute_command", ["command": "echo a | tr a b", "shell": true])
        #expect(ToolHarness.rule(before) == "command.shell_disabled")
        try JSONValue.object([("roots", [.string(harness.root)]), ("commands", ["shell": true, "allow_extra": ["tr"]])]).jsonString
            .write(toFile: harness.policyPath, atomically: true, encoding: .utf8)
        store.reloadIfChanged()
        #expect(store.current.revision == 2)
        let after = await harness.call("execute_command", ["command": "echo a | tr a b", "shell": true])
        #expect(after.structuredContent?["stdout"] == "b\n", "\(ToolHarness.text(after))")
        try "{ broken".write(toFile: harness.policyPath, atomically: true, encoding: .utf8)
        store.reloadIfChanged()
        #expect(store.current.revision == 2)
        #expect(store.lastError?.contains("invalid JSON") == true)
        let still = await harness.call("execute_command", ["command": "echo a | tr a b", "shell": true])
        #expect(!still.isError, "a broken file must leave the previous policy in force")
        #expect(harness.metricsText.contains(#"switchboard_tool_policy_reloads_total{result="error"} 1"#))
        #expect(harness.metricsText.contains(#"switchboard_tool_policy_reloads_total{result="ok"} 1"#))
        await harness.close()
    }

    @Test func theWatcherReloadsOnSIGHUPAndOnChange() async throws {
        let harness = try ToolHarness(policy: [:])
        let store = harness.runtime.policies
        let trapped = Flag()
        let watcher = PolicyWatcher(store: store, interval: .milliseconds(50), ready: { trapped.clear() })
        let group = ServiceGroup(configuration: .init(services: [watcher], logger: Logger(label: "watcher")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            for _ in 0..<500 where trapped.isSet { try await Task.sleep(for: .milliseconds(10)) }
            #expect(!trapped.isSet)
            kill(getpid(), SIGHUP)
            for _ in 0..<100 where store.current.revision < 2 { try await Task.sleep(for: .milliseconds(20)) }
            #expect(store.current.revision == 2, "SIGHUP did not reload")
            try JSONValue.object([("roots", [.string(harness.root)]), ("commands", ["shell": true])]).jsonString
                .write(toFile: harness.policyPath, atomically: true, encoding: .utf8)
            for _ in 0..<100 where store.current.revision < 3 { try await Task.sleep(for: .milliseconds(20)) }
            #expect(store.current.revision == 3, "a changed file was not reloaded")
            #expect(store.current.commands.shellAllowed)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        await harness.close()
    }

    @Test func thePolicyAndTheAuditLogCannotLiveInAWritableRoot() throws {
        let root = TestEnvironment.temporaryDirectory("switchboard-guard").path
        let directories = try SandboxDirectories.create()
        defer { directories.remove() }
        try "{}".write(toFile: root + "/policy.json", atomically: true, encoding: .utf8)
        #expect(throws: PolicyError.self) {
            _ = try PolicyStore(file: root + "/policy.json", workspace: root, directories: directories, guarded: [], logger: Logger(label: "t"))
        }
        #expect(throws: PolicyError.self) {
            _ = try PolicyStore(file: nil, workspace: root, directories: directories, guarded: [root + "/logs/audit.jsonl"], logger: Logger(label: "t"))
        }
    }

    @Test func noToolCanChangeThePolicy() async throws {
        let harness = try ToolHarness(policy: [:])
        let original = try String(contentsOfFile: harness.policyPath, encoding: .utf8)
        let write = await harness.call("write_file", ["path": .string(harness.policyPath), "content": #"{"commands":{"allow":["*"]}}"#])
        #expect(ToolHarness.rule(write) == "path.outside_roots")
        let command = await harness.call("execute_command", ["command": "cp", "args": ["/dev/null", .string(harness.policyPath)]])
        if Landlock.abi > 0 { #expect(command.structuredContent?["exit_code"] != 0) }
        #expect(try String(contentsOfFile: harness.policyPath, encoding: .utf8) == original)
        await harness.close()
    }

    @Test func everyCallAndDenialIsAuditedWithSecretsRedacted() async throws {
        let harness = try ToolHarness()
        _ = await harness.call("execute_command", [
            "command": "curl", "args": ["--version"],
            "env": ["API_TOKEN": "tok-123456789", "DATABASE_URL": "postgres://app:hunter2@db/app", "COLOUR": "blue"],
        ])
        _ = await harness.call("write_file", ["path": "notes.txt", "content": "password=swordfish"])
        _ = await harness.call("execute_command", ["command": "dd"])
        _ = await harness.call("read_file", ["path": "../outside/secret.txt"])
        let records = try harness.auditRecords()
        #expect(records.count == 4)
        let text = try String(contentsOfFile: harness.auditPath, encoding: .utf8)
        for secret in ["tok-123456789", "hunter2", "swordfish"] { #expect(!text.contains(secret), "\(secret) reached the audit log") }
        #expect(records[0]["arguments"]?["env"]?["COLOUR"] == "blue")
        #expect(records[0]["arguments"]?["env"]?["API_TOKEN"] == "[redacted]")
        #expect(records[0]["arguments"]?["env"]?["DATABASE_URL"] == "postgres://app:[redacted]@db/app")
        #expect(records[0]["decision"] == "allowed")
        #expect(records[0]["exit_status"] == ["code": 0])
        #expect((records[0]["bytes_out"]?.intValue ?? 0) > 0)
        #expect(records[1]["arguments"]?["content"]?.stringValue?.hasPrefix("[18 bytes sha256:") == true)
        #expect(records[2]["decision"] == "denied")
        #expect(records[2]["rule"] == "command.denied")
        #expect(records[3]["rule"] == "path.outside_roots")
        for record in records {
            #expect(record["principal"] == "tester")
            #expect(record["duration_ms"]?.doubleValue != nil)
            #expect(record["ts"]?.stringValue?.hasSuffix("Z") == true)
        }
        let mode = try FileManager.default.attributesOfItem(atPath: harness.auditPath)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(harness.metricsText.contains(#"switchboard_tool_denials_total{tool="execute_command",rule="command.denied"} 1"#))
        #expect(harness.metricsText.contains(#"switchboard_tool_calls_total{tool="read_file",outcome="denied"} 1"#))
        await harness.close()
    }

    @Test func concurrentCallsEachGetOneWholeAuditLine() async throws {
        let harness = try ToolHarness()
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask { _ = await harness.call("get_file_info", ["path": .string("missing-\(index)")]) }
            }
        }
        let records = try harness.auditRecords()
        let paths = records.compactMap { $0["arguments"]?["path"]?.stringValue }
        #expect(records.count == 200)
        #expect(Set(paths) == Set((0..<200).map { "missing-\($0)" }))
        await harness.close()
    }

    @Test func concurrentCallsRotateTheAuditLogWithoutCuttingALine() async throws {
        let harness = try ToolHarness(auditMaxSize: 4096)
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<40 {
                group.addTask { _ = await harness.call("get_file_info", ["path": .string("missing-\(index)")]) }
            }
        }
        var lines = 0
        for index in 0...5 {
            let path = index == 0 ? harness.auditPath : harness.auditPath + ".\(index)"
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
            #expect(size <= 4096, "\(path) grew past the limit")
            let text = try String(contentsOfFile: path, encoding: .utf8)
            #expect(text.hasSuffix("\n"))
            for line in text.split(separator: "\n") {
                #expect((try? JSONParser.parse(String(line))) != nil, "a line was cut in \(path)")
                lines += 1
            }
        }
        // 40 lines of a few hundred bytes over six files of at most 4 KiB: all of them fit, and it took several.
        #expect(lines == 40)
        #expect(FileManager.default.fileExists(atPath: harness.auditPath + ".2"))
        await harness.close()
    }

    @Test func theAuditLogRotatesBySize() async throws {
        let harness = try ToolHarness(auditMaxSize: 4096)
        for index in 0..<60 { _ = await harness.call("get_file_info", ["path": .string("missing-\(index)")]) }
        let rotated = try String(contentsOfFile: harness.auditPath + ".1", encoding: .utf8)
        #expect(!rotated.isEmpty)
        let current = try FileManager.default.attributesOfItem(atPath: harness.auditPath)[.size] as? Int ?? 0
        #expect(current <= 4096)
        let lines = try (0...5).flatMap { index -> [Substring] in
            let path = index == 0 ? harness.auditPath : harness.auditPath + ".\(index)"
            guard FileManager.default.fileExists(atPath: path) else { return [] }
            return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        }
        #expect(lines.allSatisfy { (try? JSONParser.parse(String($0))) != nil }, "a rotated line was cut")
        #expect(!FileManager.default.fileExists(atPath: harness.auditPath + ".6"))
        await harness.close()
    }
}
