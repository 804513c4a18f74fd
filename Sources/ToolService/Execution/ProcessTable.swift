import Foundation
import Synchronization
import SwitchboardCore

/// The processes started with `start_process` on this replica. Each principal sees only its own.
/// A process ends when it exits, is terminated, reaches the policy's session lifetime, or the service
/// shuts down; finished processes stay readable for ten minutes.
final class ProcessTable: Sendable {
    private let sessions = Mutex<[Int32: ProcessSession]>([:])
    private let changed: @Sendable (_ running: Int) -> Void
    static let retention: Duration = .seconds(600)
    static let maxFinished = 64

    init(changed: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.changed = changed
    }

    var runningCount: Int { sessions.withLock { $0.values.filter { $0.finished == nil }.count } }

    /// Starts a prepared command as a session owned by `principal`.
    func start(_ command: PreparedCommand, backend: NativeBackend, principal: String, lifetime: Duration) async throws -> ProcessSession {
        let limits = backend.policy.limits
        guard limits.sessions > 0 else { throw PolicyDenial("limits.sessions", "the policy does not allow background processes (limits.sessions is 0)") }
        guard runningCount < limits.sessions else {
            throw PolicyDenial("limits.sessions", "\(limits.sessions) background processes are already running (limits.sessions); terminate one first")
        }
        let launched = try await backend.launch(command, stdinPipe: true)
        let session = ProcessSession(pid: launched.child.pid, principal: principal, command: command.display, launched: launched, capacity: limits.sessionOutput)
        let running = sessions.withLock { table -> Int in
            evict(&table)
            table[session.pid] = session
            return table.values.filter { $0.finished == nil }.count
        }
        changed(running)
        Task { await supervise(session, lifetime: lifetime) }
        return session
    }

    /// Pumps output, enforces the lifetime, cleans up and records how the process ended.
    private func supervise(_ session: ProcessSession, lifetime: Duration) async {
        let child = session.launched.child
        let readers = Task {
            await withTaskGroup(of: Void.self) { group in
                if let stream = child.stdout { group.addTask { for await chunk in stream { session.append(chunk) } } }
                if let stream = child.stderr { group.addTask { for await chunk in stream { session.append(chunk) } } }
            }
        }
        let status: ExitStatus = await withTaskGroup(of: ExitStatus?.self) { group in
            group.addTask { await child.wait() }
            group.addTask {
                do { try await Task.sleep(for: lifetime) } catch { return nil }
                if session.markEnding("lifetime") { await child.stop(signal: SIGTERM, grace: .seconds(2)) }
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
        let (usage, endedBy) = await session.launched.settle(status: status, readers: readers, endedBy: session.endedBy)
        var execution: [(key: String, value: JSONValue)] = [("limits", session.launched.limits)]
        if let endedBy { execution.append(("terminated_by", .string(endedBy))) }
        if let peak = usage.peakMemory { execution.append(("peak_memory_bytes", .int(peak))) }
        if let cpu = usage.cpuTime { execution.append(("cpu_ms", .double(cpu.milliseconds))) }
        session.finish(status: status, endedBy: endedBy, execution: .object(execution))
        changed(runningCount)
    }

    /// The caller's session `pid`; another principal's process is reported as unknown.
    func session(_ pid: Int32, principal: String) throws -> ProcessSession {
        guard let session = sessions.withLock({ $0[pid] }), session.principal == principal else {
            throw ToolFailure("no process \(pid) started by you on this replica (list_processes shows yours)")
        }
        return session
    }

    func list(principal: String) -> [ProcessSession] {
        sessions.withLock { table in
            evict(&table)
            return table.values.filter { $0.principal == principal }.sorted { $0.started < $1.started }
        }
    }

    /// Sends `signal`, waits up to `grace`, then kills the process and everything it started.
    func terminate(_ session: ProcessSession, signal: Int32, grace: Duration) async {
        _ = session.markEnding("terminated")
        _ = await session.launched.child.stop(signal: signal, grace: grace)
        // `supervise` finishes the session; wait for it so the caller sees the final state.
        let deadline = ContinuousClock.now + .seconds(15)
        while session.finished == nil, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
    }

    /// Ends every session (service shutdown).
    func terminateAll() async {
        let running = sessions.withLock { $0.values.filter { $0.finished == nil } }
        await withTaskGroup(of: Void.self) { group in
            for session in running {
                group.addTask {
                    _ = session.markEnding("shutdown")
                    await self.terminate(session, signal: SIGTERM, grace: .seconds(1))
                }
            }
        }
    }

    private func evict(_ table: inout [Int32: ProcessSession]) {
        let now = Date()
        let finished = table.values.compactMap { session in session.finished.map { (session, $0) } }.sorted { $0.1 < $1.1 }
        for (index, (session, ended)) in finished.enumerated()
        where now.timeIntervalSince(ended) > Double(Self.retention.components.seconds) || index < finished.count - Self.maxFinished {
            table[session.pid] = nil
        }
    }
}
