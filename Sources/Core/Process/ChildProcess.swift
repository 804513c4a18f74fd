import CSwitchboard
import Foundation
import Synchronization

/// How a child process ended.
public enum ExitStatus: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    public var succeeded: Bool { self == .exited(0) }

    public var description: String {
        switch self {
        case .exited(let code): return "exit code \(code)"
        case .signaled(let signal): return "killed by signal \(signal) (\(ExitStatus.signalName(signal)))"
        }
    }

    public static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGKILL: return "SIGKILL"
        case SIGTERM: return "SIGTERM"
        case SIGINT: return "SIGINT"
        case SIGQUIT: return "SIGQUIT"
        case SIGHUP: return "SIGHUP"
        case SIGSEGV: return "SIGSEGV"
        case SIGABRT: return "SIGABRT"
        case SIGXCPU: return "SIGXCPU"
        case SIGXFSZ: return "SIGXFSZ"
        case SIGUSR1: return "SIGUSR1"
        case SIGUSR2: return "SIGUSR2"
        case SIGPIPE: return "SIGPIPE"
        default: return "signal \(signal)"
        }
    }
}

/// Everything needed to start a child process.
public struct ProcessLaunch: Sendable {
    public enum Output: Sendable {
        case discard
        /// A pipe the parent reads through ``ChildProcess/stdout`` / ``ChildProcess/stderr``.
        case pipe
        /// Appended to a file.
        case file(String)
        /// Same as the parent's.
        case inherit
    }

    /// Absolute path of the program.
    public var executable: String
    /// Arguments after argv[0].
    public var arguments: [String]
    public var environment: [String: String]
    public var workingDirectory: String?
    /// Give the child a pipe on stdin (else /dev/null).
    public var stdinPipe = false
    public var stdout: Output = .discard
    /// `.pipe` here with stdout `.pipe` gives two separate pipes.
    public var stderr: Output = .discard
    /// Put the child in its own process group so signals reach all its descendants.
    public var newProcessGroup = true
    /// Start a new session (detached daemon).
    public var newSession = false
    /// Signal delivered to the child when the spawning thread's process dies.
    public var parentDeathSignal: Int32? = SIGKILL
    /// RLIMIT_* resource and value pairs.
    public var resourceLimits: [(resource: Int32, value: UInt64)] = []
    /// cgroup.procs (v2) or tasks/cgroup.procs (v1) files the child joins before exec.
    public var cgroupProcs: [String] = []
    /// A Landlock ruleset the child restricts itself with before exec.
    public var landlockRuleset: Int32?
    /// Start the program without any capability, even when this process runs as root.
    public var dropCapabilities = false

    public init(executable: String, arguments: [String] = [], environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
    }
}

/// Why a process could not be started.
public struct SpawnError: Error, CustomStringConvertible, Sendable {
    public let executable: String
    public let step: String
    public let errno: Int32
    public var description: String {
        "cannot start \(executable): \(step) failed: \(String(cString: strerror(errno)))"
    }
}

/// A running child. Exit is observed through a pidfd, so waiting blocks no thread and never reaps
/// another part of the program's children.
public final class ChildProcess: Sendable {
    public let pid: pid_t
    /// Write end of the child's stdin, when requested; close it to send EOF.
    public let stdin: FileHandle?
    /// Chunks read from the child's stdout / stderr when `.pipe` was requested.
    public let stdout: AsyncStream<[UInt8]>?
    public let stderr: AsyncStream<[UInt8]>?
    public let processGroup: Bool

    private let exit = Mutex<ExitState>(ExitState())

    private struct ExitState {
        var status: ExitStatus?
        var waiters: [CheckedContinuation<ExitStatus, Never>] = []
    }

    init(pid: pid_t, stdin: FileHandle?, stdout: AsyncStream<[UInt8]>?, stderr: AsyncStream<[UInt8]>?, processGroup: Bool) {
        self.pid = pid
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.processGroup = processGroup
        let pidfd = sb_pidfd_open(pid)
        if pidfd >= 0 {
            // The pidfd turns readable when the child exits. The watch reaps it even when this object
            // is gone, so no zombie is left behind.
            _ = DescriptorMonitor.shared.watch(pidfd) { [weak self] _ in
                guard let status = ChildProcess.reap(pid) else { return true }
                self?.finish(status)
                return false
            }
        } else {
            // No pidfd (very old kernel): a thread waits instead.
            Thread.detachNewThread { [self] in
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                finish(ChildProcess.decode(status))
            }
        }
    }

    /// Starts a process. Spawning happens on one long-lived thread, so a parent-death signal is tied
    /// to this process's lifetime and not to a worker thread that may exit.
    public static func spawn(_ launch: ProcessLaunch) async throws(SpawnError) -> ChildProcess {
        let result: Result<ChildProcess, SpawnError> = await withCheckedContinuation { continuation in
            SpawnThread.shared.submit { continuation.resume(returning: spawnNow(launch)) }
        }
        return try result.get()
    }

    /// Sends `signal` to the process, or to its whole group when it leads one.
    public func signal(_ signal: Int32) {
        guard exit.withLock({ $0.status == nil }) else { return }
        if processGroup {
            if kill(-pid, signal) != 0 { kill(pid, signal) }
        } else {
            kill(pid, signal)
        }
    }

    /// The exit status, once known.
    public var status: ExitStatus? { exit.withLock { $0.status } }

    /// Waits for the process to end.
    public func wait() async -> ExitStatus {
        await withCheckedContinuation { continuation in
            let ready: ExitStatus? = exit.withLock { state in
                if let status = state.status { return status }
                state.waiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Sends `signal`, waits up to `grace`, then SIGKILLs the group. Returns how it ended.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, grace: Duration) async -> ExitStatus {
        self.signal(signal)
        let deadline = ContinuousClock.now + grace
        while status == nil, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if status == nil { self.signal(SIGKILL) }
        let result = await wait()
        // Descendants that left the group's leader behind still belong to the group.
        if processGroup { kill(-pid, SIGKILL) }
        return result
    }

    /// Collects the exit status of `pid` without blocking; nil while it has not ended.
    private static func reap(_ pid: pid_t) -> ExitStatus? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid { return decode(status) }
        // Someone else reaped it; the status is unknown.
        if result < 0 && errno == ECHILD { return .exited(-1) }
        return nil
    }

    private func finish(_ status: ExitStatus) {
        let waiters = exit.withLock { state -> [CheckedContinuation<ExitStatus, Never>] in
            guard state.status == nil else { return [] }
            state.status = status
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: status) }
    }

    static func decode(_ status: Int32) -> ExitStatus {
        let signal = status & 0x7F
        if signal == 0 { return .exited((status >> 8) & 0xFF) }
        return .signaled(signal)
    }

    private static func spawnNow(_ launch: ProcessLaunch) -> Result<ChildProcess, SpawnError> {
        var parentEnds: [Int32] = []
        var childEnds: [Int32] = []
        func makePipe() -> (read: Int32, write: Int32)? {
            var fds: [Int32] = [0, 0]
            guard sb_pipe(&fds) == 0 else { return nil }
            return (fds[0], fds[1])
        }
        func openTarget(_ output: ProcessLaunch.Output, inherit: Int32) -> (child: Int32, parent: Int32?)? {
            switch output {
            case .discard: return (-1, nil)
            case .inherit: return (inherit, nil)
            case .file(let path):
                let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
                guard fd >= 0 else { return nil }
                childEnds.append(fd)
                return (fd, nil)
            case .pipe:
                guard let p = makePipe() else { return nil }
                childEnds.append(p.write)
                parentEnds.append(p.read)
                return (p.write, p.read)
            }
        }
        func fail(_ step: String) -> Result<ChildProcess, SpawnError> {
            let code = errno
            for fd in parentEnds + childEnds { close(fd) }
            return .failure(SpawnError(executable: launch.executable, step: step, errno: code))
        }

        var stdinChild: Int32 = -1
        var stdinParent: Int32?
        if launch.stdinPipe {
            guard let p = makePipe() else { return fail("pipe") }
            stdinChild = p.read
            stdinParent = p.write
            childEnds.append(p.read)
            parentEnds.append(p.write)
        }
        guard let out = openTarget(launch.stdout, inherit: 1) else { return fail("opening stdout") }
        guard let err = openTarget(launch.stderr, inherit: 2) else { return fail("opening stderr") }

        let argv = CStringArray([launch.executable] + launch.arguments)
        let envp = CStringArray(launch.environment.map { "\($0.key)=\($0.value)" }.sorted())
        let cgroups = CStringArray(launch.cgroupProcs)
        let path = strdup(launch.executable)
        let cwd = launch.workingDirectory.map { strdup($0) } ?? nil
        defer {
            free(path)
            free(cwd)
        }
        var limits = launch.resourceLimits.map { sb_rlimit(resource: $0.resource, value: $0.value) }
        var pid: pid_t = 0
        var step: Int32 = 0
        let code: Int32 = limits.withUnsafeMutableBufferPointer { limitBuffer in
            var options = sb_spawn_options()
            options.path = UnsafePointer(path)
            options.argv = UnsafePointer(argv.pointer)
            options.envp = UnsafePointer(envp.pointer)
            options.cwd = UnsafePointer(cwd)
            options.stdin_fd = stdinChild
            options.stdout_fd = out.child
            options.stderr_fd = err.child
            options.new_process_group = launch.newProcessGroup ? 1 : 0
            options.new_session = launch.newSession ? 1 : 0
            options.parent_death_signal = launch.parentDeathSignal ?? 0
            options.rlimits = UnsafePointer(limitBuffer.baseAddress)
            options.rlimit_count = limitBuffer.count
            options.cgroup_extra = launch.cgroupProcs.isEmpty ? nil : UnsafeRawPointer(cgroups.pointer).assumingMemoryBound(to: UnsafePointer<CChar>?.self)
            options.landlock_ruleset_fd = launch.landlockRuleset ?? -1
            options.drop_capabilities = launch.dropCapabilities ? 1 : 0
            return sb_spawn(&options, &pid, &step)
        }
        for fd in childEnds { close(fd) }
        if code != 0 {
            for fd in parentEnds { close(fd) }
            let steps = [1: "chdir", 2: "redirecting output", 3: "creating the process group", 4: "setting resource limits",
                         5: "joining the cgroup", 6: "applying Landlock", 7: "exec", 8: "fork", 9: "dropping capabilities"]
            return .failure(SpawnError(executable: launch.executable, step: steps[Int(step)] ?? "spawn", errno: code))
        }
        let stdinHandle = stdinParent.map { FileHandle(fileDescriptor: $0, closeOnDealloc: true) }
        let stdoutStream = out.parent.map { PipeReader.stream(fd: $0) }
        let stderrStream = err.parent.map { PipeReader.stream(fd: $0) }
        return .success(ChildProcess(pid: pid, stdin: stdinHandle, stdout: stdoutStream, stderr: stderrStream, processGroup: launch.newProcessGroup || launch.newSession))
    }
}

/// A NULL-terminated array of C strings, freed on deinit.
final class CStringArray {
    let pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    private let count: Int

    init(_ strings: [String]) {
        count = strings.count
        pointer = .allocate(capacity: strings.count + 1)
        for (index, string) in strings.enumerated() { pointer[index] = strdup(string) }
        pointer[strings.count] = nil
    }

    deinit {
        for index in 0..<count { free(pointer[index]) }
        pointer.deallocate()
    }
}

/// The one thread that forks. Parent-death signals fire when the forking thread ends, so it never does.
final class SpawnThread: @unchecked Sendable {
    static let shared = SpawnThread()
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []

    private init() {
        let thread = Thread { [self] in loop() }
        thread.name = "switchboard-spawn"
        thread.start()
    }

    func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let batch = jobs
            jobs = []
            condition.unlock()
            for job in batch { job() }
        }
    }
}
