import Foundation
import Synchronization
import SwitchboardCore

/// A command the policy accepted, ready to start.
struct PreparedCommand: Sendable {
    let executable: String
    let arguments: [String]
    /// The command as the caller wrote it.
    let display: String
    let workingDirectory: String
    let environment: [String: String]
    let timeout: Duration
}

/// A started command with its cgroup and the limits it runs under.
struct LaunchedCommand: Sendable {
    let child: ChildProcess
    let cgroup: ExecutionCgroup?
    /// The limits applied, for `_meta` and the audit log.
    let limits: JSONValue
    let started: ContinuousClock.Instant
    let cpuLimit: Duration?

    /// Kills whatever is left of the command (its process group, then everything in its cgroup, which
    /// includes processes that called `setsid`), reads the cgroup's accounting and removes it.
    func cleanUp() async -> (peakMemory: Int64?, cpuTime: Duration?, oomKills: Int, processLimitHit: Bool) {
        kill(-child.pid, SIGKILL)
        guard let cgroup else { return (nil, nil, 0, false) }
        await cgroup.killAll()
        // Reading accounting and removing a cgroup can block (memory cgroups are reclaimed on rmdir).
        let usage = try? await Blocking.run {
            let usage = (cgroup.memoryPeak, cgroup.cpuTime, cgroup.oomKills, cgroup.processLimitHit)
            cgroup.remove()
            return usage
        }
        return usage ?? (nil, nil, 0, false)
    }
    /// After the command's end: cleans up (``cleanUp()``), gives the output readers up to 2 s to drain
    /// (pipes close when the last holder is gone; a process that escaped every kill is not waited for),
    /// and names the limit that ended the command when `endedBy` is not known already.
    func settle(status: ExitStatus, readers: Task<Void, Never>, endedBy: String?) async
        -> (usage: (peakMemory: Int64?, cpuTime: Duration?, oomKills: Int, processLimitHit: Bool), endedBy: String?)
    {
        let usage = await cleanUp()
        let drained = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await readers.value
                return true
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(2))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        if !drained { readers.cancel() }
        guard endedBy == nil else { return (usage, endedBy) }
        switch status {
        case .signaled(SIGXFSZ): return (usage, "file_size")
        case .signaled(SIGXCPU): return (usage, "cpu_time")
        case .signaled(SIGKILL) where usage.oomKills > 0: return (usage, "memory")
        case .signaled(SIGKILL):
            if let cpuLimit, let used = usage.cpuTime, used >= cpuLimit - .milliseconds(500) { return (usage, "cpu_time") }
            return (usage, nil)
        default: return (usage, nil)
        }
    }
}

/// The native execution backend: runs checked commands on this machine, each in its own process group
/// and cgroup, under Landlock, with rlimits, without capabilities, with a clean environment.
struct NativeBackend: Sendable {
    let policy: ActivePolicy
    let cgroups: CgroupManager

    // MARK: Policy

    /// Applies the command policy and the limits to a request.
    func prepare(_ request: CommandRequest) async throws -> PreparedCommand {
        let commands = policy.commands
        let directory = try policy.workspace.resolve(request.cwd ?? ".", argument: "cwd")
        let cwd = try await Blocking.run { () throws -> String in
            let fd = try FileAccess.openDirectory(directory)
            close(fd)
            return directory.absolute
        }
        var environment = policy.environment
        for (name, value) in request.environment.sorted(by: { $0.key < $1.key }) {
            if CommandPolicy.isDeniedEnvironment(name) || name == "HOME" || name == "TMPDIR" {
                throw PolicyDenial("command.env_denied", "arguments.env.\(name) may not be set: it could change what runs or where")
            }
            guard name.utf8.first.map({ !($0 >= 48 && $0 <= 57) }) ?? false,
                name.utf8.allSatisfy({ ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 })
            else {
                throw ToolFailure("arguments.env: '\(name)' is not a valid variable name")
            }
            environment[name] = value
        }
        let timeout = request.timeout ?? policy.limits.timeout
        guard timeout <= policy.limits.maxTimeout else {
            throw PolicyDenial("limits.timeout", "arguments.timeout_ms (\(Int(timeout.milliseconds))) exceeds the policy's max_timeout (\(policy.limits.maxTimeout))")
        }
        if policy.landlock == nil && policy.document.sandbox.landlock == .required {
            throw PolicyDenial("sandbox.unavailable", "the policy requires Landlock and it is not available")
        }
        if request.shell {
            let script = request.command
            try await Blocking.run { try commands.check(script: script, cwd: cwd) }
            return PreparedCommand(
                executable: commands.shellPath, arguments: ["-c", request.command], display: request.command, workingDirectory: cwd,
                environment: environment, timeout: timeout
            )
        }
        var argv: [String]
        if let args = request.args {
            argv = [request.command] + args
        } else {
            argv = try Self.split(request.command, shellAllowed: commands.shellAllowed)
        }
        let words = argv
        let executable = try await Blocking.run { try commands.check(argv: words, cwd: cwd) }
        argv.removeFirst()
        let display = ([request.command] + (request.args ?? [])).joined(separator: " ")
        return PreparedCommand(executable: executable, arguments: argv, display: display, workingDirectory: cwd, environment: environment, timeout: timeout)
    }

    /// A command line without shell syntax split into argv the way the shell would (quotes removed).
    static func split(_ line: String, shellAllowed: Bool) throws -> [String] {
        let hint = shellAllowed ? "pass shell: true to run it as a script" : "the policy does not allow a shell (commands.shell is false); pass the program in `command` and its arguments in `args`"
        let parsed: (commands: [ShellCommand], constructs: [String])
        do {
            parsed = try ShellParser.parse(line)
        } catch {
            if shellAllowed { throw ToolFailure("`command` uses \(error.message); \(hint)") }
            throw PolicyDenial("command.shell_disabled", "`command` uses \(error.message); \(hint)")
        }
        guard parsed.commands.count == 1, parsed.constructs.isEmpty, let only = parsed.commands.first, only.assignments.isEmpty,
            only.words.allSatisfy(\.isLiteral)
        else {
            let used = parsed.constructs.first ?? (parsed.commands.first?.assignments.isEmpty == false ? "variable assignments" : "expansions or globs")
            let message = "`command` contains shell syntax (\(used)); \(hint)"
            if shellAllowed { throw ToolFailure(message) }
            throw PolicyDenial("command.shell_disabled", message)
        }
        return only.words.map(\.text)
    }

    // MARK: Launching

    /// Starts a prepared command under the policy's limits.
    func launch(_ command: PreparedCommand, stdinPipe: Bool) async throws -> LaunchedCommand {
        let limits = policy.limits
        let cgroups = cgroups
        let cgroup = try await Blocking.run { cgroups.create(.init(memory: limits.memory, processes: limits.processes, cpus: limits.cpus)) }
        var launch = ProcessLaunch(executable: command.executable, arguments: command.arguments, environment: command.environment)
        launch.workingDirectory = command.workingDirectory
        launch.stdinPipe = stdinPipe
        launch.stdout = .pipe
        launch.stderr = .pipe
        launch.newProcessGroup = true
        launch.parentDeathSignal = SIGKILL
        launch.dropCapabilities = true
        launch.landlockRuleset = policy.landlock?.descriptor
        launch.cgroupProcs = cgroup?.procsFiles ?? []
        var rlimits: [(Int32, UInt64)] = [(Self.rlimitCore, 0)]
        if let cpu = limits.cpuTime { rlimits.append((Self.rlimitCPU, UInt64(max(1, cpu.components.seconds)))) }
        if let size = limits.fileSize { rlimits.append((Self.rlimitFileSize, UInt64(size))) }
        if let files = limits.openFiles { rlimits.append((Self.rlimitOpenFiles, UInt64(files))) }
        let memoryByCgroup = cgroup != nil && cgroups.hasMemoryController
        let processesByCgroup = cgroup != nil && cgroups.hasPidsController
        if let memory = limits.memory, !memoryByCgroup { rlimits.append((Self.rlimitAddressSpace, UInt64(memory))) }
        if let processes = limits.processes, !processesByCgroup { rlimits.append((Self.rlimitProcesses, UInt64(processes))) }
        launch.resourceLimits = rlimits.map { (resource: $0.0, value: $0.1) }
        let started = ContinuousClock.now
        let child: ChildProcess
        do {
            child = try await ChildProcess.spawn(launch)
        } catch {
            _ = try? await Blocking.run { cgroup?.remove() }
            throw ToolFailure(error.description)
        }
        var applied: [(key: String, value: JSONValue)] = [("timeout_ms", .int(Int64(command.timeout.milliseconds)))]
        if let cpu = limits.cpuTime { applied.append(("cpu_seconds", .int(cpu.components.seconds))) }
        if let memory = limits.memory {
            applied.append(("memory_bytes", .int(memory)))
            applied.append(("memory_enforced_by", .string(memoryByCgroup ? cgroups.mechanism : "rlimit (address space)")))
        }
        if let processes = limits.processes {
            applied.append(("processes", .int(Int64(processes))))
            let fallback = getuid() == 0 ? "rlimit (not enforced for root)" : "rlimit (per user)"
            applied.append(("processes_enforced_by", .string(processesByCgroup ? cgroups.mechanism : fallback)))
        }
        if let cpus = limits.cpus, cgroup != nil { applied.append(("cpus", .double(cpus))) }
        applied.append(("output_bytes", .int(Int64(limits.output))))
        if let size = limits.fileSize { applied.append(("file_size_bytes", .int(size))) }
        if let files = limits.openFiles { applied.append(("open_files", .int(Int64(files)))) }
        applied.append(("landlock", .string(policy.landlockState)))
        applied.append(("capabilities", "dropped"))
        return LaunchedCommand(child: child, cgroup: cgroup, limits: .object(applied), started: started, cpuLimit: limits.cpuTime)
    }

    static let rlimitCPU: Int32 = 0
    static let rlimitFileSize: Int32 = 1
    static let rlimitCore: Int32 = 4
    static let rlimitProcesses: Int32 = 6
    static let rlimitOpenFiles: Int32 = 7
    static let rlimitAddressSpace: Int32 = 9

    // MARK: Running to completion

    /// Runs a command to its end (or its timeout, output limit or cancellation) and collects its output.
    func run(_ command: PreparedCommand, stdin: [UInt8]?, context: ToolContext) async throws -> CommandOutcome {
        let launched = try await launch(command, stdinPipe: stdin != nil)
        let child = launched.child
        let ending = EndReason()
        @Sendable func end(_ reason: String) {
            guard ending.claim(reason) else { return }
            if reason == "timeout" {
                Task { await child.stop(signal: SIGTERM, grace: .seconds(2)) }
            } else {
                child.signal(SIGKILL)
            }
        }
        let output = OutputCollector(limit: policy.limits.output) { end("output_limit") }
        let readers = Task {
            await withTaskGroup(of: Void.self) { group in
                if let stream = child.stdout { group.addTask { for await chunk in stream { output.append(chunk, error: false) } } }
                if let stream = child.stderr { group.addTask { for await chunk in stream { output.append(chunk, error: true) } } }
            }
        }
        if let stdin, let handle = child.stdin {
            let input = UncheckedSendable(handle)
            Task {
                _ = try? await Blocking.run {
                    try? FileAccess.writeAll(input.value.fileDescriptor, stdin)
                    try? input.value.close()
                }
            }
        }
        let timeout = command.timeout
        let status: ExitStatus = await withTaskCancellationHandler {
            await withTaskGroup(of: ExitStatus?.self) { group in
                group.addTask { await child.wait() }
                group.addTask {
                    // Progress once a second, measured on the clock so that a late wake-up reports the truth.
                    let started = ContinuousClock.now
                    let deadline = started + timeout
                    while ContinuousClock.now < deadline {
                        let step = min(deadline - ContinuousClock.now, .seconds(1))
                        do { try await Task.sleep(for: step) } catch { return nil }
                        let elapsed = min(ContinuousClock.now - started, timeout)
                        await context.progress(elapsed.milliseconds / 1000, timeout.milliseconds / 1000, output.lastLine)
                    }
                    end("timeout")
                    return nil
                }
                var status = ExitStatus.exited(-1)
                for await value in group {
                    if let value {
                        status = value
                        break
                    }
                }
                group.cancelAll()
                return status
            }
        } onCancel: {
            end("cancelled")
        }
        let (usage, endedBy) = await launched.settle(status: status, readers: readers, endedBy: ending.reason)
        return CommandOutcome(
            status: status, stdout: output.stdout, stderr: output.stderr, truncated: output.truncated, droppedBytes: output.dropped,
            endedBy: endedBy, duration: ContinuousClock.now - launched.started, limits: launched.limits, peakMemory: usage.peakMemory,
            cpuTime: usage.cpuTime, processLimitHit: usage.processLimitHit
        )
    }
}

/// How a command run to completion ended and what it printed.
struct CommandOutcome: Sendable {
    let status: ExitStatus
    let stdout: [UInt8]
    let stderr: [UInt8]
    /// Output beyond the limit was dropped (and the command was stopped).
    let truncated: Bool
    let droppedBytes: Int
    /// `timeout`, `output_limit`, `cancelled`, `memory`, `cpu_time` or `file_size` when a limit ended it.
    let endedBy: String?
    let duration: Duration
    let limits: JSONValue
    let peakMemory: Int64?
    let cpuTime: Duration?
    let processLimitHit: Bool

    var exitCode: Int32? {
        if case .exited(let code) = status { return code }
        return nil
    }

    var signalName: String? {
        if case .signaled(let signal) = status { return ExitStatus.signalName(signal) }
        return nil
    }

    /// `_meta` / audit description of the execution.
    var execution: JSONValue {
        var members: [(key: String, value: JSONValue)] = [("limits", limits)]
        if let endedBy { members.append(("terminated_by", .string(endedBy))) }
        if truncated { members.append(("output_truncated_bytes", .int(Int64(droppedBytes)))) }
        if let peakMemory { members.append(("peak_memory_bytes", .int(peakMemory))) }
        if let cpuTime { members.append(("cpu_ms", .double(cpuTime.milliseconds))) }
        if processLimitHit { members.append(("process_limit_reached", true)) }
        return .object(members)
    }

    var exitStatusJSON: JSONValue {
        if let exitCode { return ["code": .int(Int64(exitCode))] }
        return ["signal": .string(signalName ?? "unknown")]
    }
}

/// Why the service ended a command; the first reason wins.
final class EndReason: Sendable {
    private let value = Mutex<String?>(nil)

    /// Records `reason` unless one was recorded before; true when this one counts.
    func claim(_ reason: String) -> Bool {
        value.withLock { current in
            guard current == nil else { return false }
            current = reason
            return true
        }
    }

    var reason: String? { value.withLock { $0 } }
}

/// Collects stdout and stderr up to a shared byte limit; beyond it the rest is counted and dropped
/// and `overflow` is called once.
final class OutputCollector: Sendable {
    private struct State {
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var dropped = 0
        var overflowed = false
        var lastLine = ""
    }

    private let state = Mutex(State())
    private let limit: Int
    private let overflow: @Sendable () -> Void

    init(limit: Int, overflow: @escaping @Sendable () -> Void) {
        self.limit = limit
        self.overflow = overflow
    }

    func append(_ chunk: [UInt8], error: Bool) {
        let overflowedNow = state.withLock { state -> Bool in
            let room = max(0, limit - state.stdout.count - state.stderr.count)
            let kept = chunk.prefix(room)
            if error { state.stderr += kept } else { state.stdout += kept }
            state.dropped += chunk.count - kept.count
            if let newline = chunk.lastIndex(of: 10) {
                let before = chunk[..<newline]
                let start = before.lastIndex(of: 10).map { $0 + 1 } ?? before.startIndex
                state.lastLine = String(decoding: before[start...].prefix(200), as: UTF8.self)
            }
            if chunk.count > kept.count, !state.overflowed {
                state.overflowed = true
                return true
            }
            return false
        }
        if overflowedNow { overflow() }
    }

    var stdout: [UInt8] { state.withLock { $0.stdout } }
    var stderr: [UInt8] { state.withLock { $0.stderr } }
    var truncated: Bool { state.withLock { $0.dropped > 0 } }
    var dropped: Int { state.withLock { $0.dropped } }
    /// The last complete line printed, for progress messages.
    var lastLine: String? { state.withLock { $0.lastLine.isEmpty ? nil : $0.lastLine } }
}
