import Foundation
import Logging
import SwitchboardCore

/// Tasks: starting one in a slot, health, exits, restarts, draining and stopping, resource sampling.
extension Stack {
    // MARK: Launch

    /// Starts a new task in `slot` from the service's current definition; returns its id.
    @discardableResult
    func launch(_ name: String, slot: Int) async throws(StackError) -> Int {
        guard let runtime = services[name] else { throw StackError("unknown service \(name)") }
        let key = ReplicaKey(service: name, slot: slot)
        let id = nextTask
        nextTask += 1
        let definition = runtime.definition
        let log = slotLog(key, rotation: runtime.spec.logRotation, version: runtime.version)
        let port = allocatePort(runtime.spec, slot: slot)
        var record = ReplicaRecord(id: id, key: key, specVersion: runtime.version, definition: definition, port: port, log: log)
        let cgroups = settings.cgroups
        let limits = definition.limits
        let (cgroup, report) = await BlockingIO.run { cgroups.makeReplicaCgroup(name: "\(key).\(id)", limits: limits) }
        record.cgroup = cgroup
        record.limits = report
        var launch = ProcessLaunch(executable: definition.program, arguments: definition.arguments, environment: environment(for: record))
        launch.workingDirectory = settings.workingDirectory
        launch.stdout = .pipe
        launch.stderr = .pipe
        launch.cgroupProcs = cgroup?.procsFiles ?? []
        let process: ChildProcess
        do {
            process = try await ChildProcess.spawn(launch)
        } catch {
            if let cgroup { await BlockingIO.run { cgroup.remove() } }
            throw StackError("\(key): \(error.description)")
        }
        record.process = process
        record.startedAt = .now
        record.startedWall = Date()
        if definition.healthcheck == nil { record.runningAt = .now }
        log.note("started task \(id) (spec \(runtime.version)), pid \(process.pid)\(port.map { " on port \($0)" } ?? "")")
        let unenforced = report.filter { !$0.enforced && $0.limit != "cpu reservation" }
        if !unenforced.isEmpty {
            log.note("limits not enforced: " + unenforced.map { "\($0.limit) \($0.value) (\($0.detail))" }.joined(separator: "; "))
        }
        if let stdout = process.stdout { Task.detached { await log.pump(stdout) } }
        if let stderr = process.stderr { Task.detached { await log.pump(stderr) } }
        Task { [weak self] in
            let status = await process.wait()
            await self?.exited(id, status: status)
        }
        if let check = definition.healthcheck {
            let probe = HealthProbe(test: check.test, timeout: check.timeout, environment: launch.environment, resolve: { [settings] program in
                Stack.resolve(program, settings: settings)
            })
            let started = record.startedAt
            record.healthTask = Task { [weak self] in
                await Stack.monitorHealth(check: check, probe: probe, started: started) { result, probeStart in
                    await self?.reportHealth(id, result: result, probeStart: probeStart) ?? false
                }
            }
        }
        records[id] = record
        settings.metrics?.record(record)
        publish(name)
        return id
    }

    /// The slot's log, created on first use; the restart count starts over with a new service version.
    private func slotLog(_ key: ReplicaKey, rotation: ComposeService.LogRotation, version: Int) -> ReplicaLog {
        if var history = slots[key] {
            if history.specVersion != version {
                history.specVersion = version
                history.restarts = 0
                history.restartTimes = []
                slots[key] = history
            }
            return history.log
        }
        let log = ReplicaLog(name: key.description, directory: "\(settings.stateDirectory)/logs", console: settings.console, rotation: rotation)
        slots[key] = SlotHistory(log: log, specVersion: version)
        return log
    }

    /// The slot's own port (`x-switchboard.port` + slot − 1, or the published range) when it is free; while
    /// another task holds it (a start-first update), a free port of the published range or one the kernel picks.
    private func allocatePort(_ spec: ComposeService, slot: Int) -> Int? {
        guard let home = spec.localPort(slot: slot) else { return nil }
        let held = Set(records.values.filter { $0.process?.status == nil }.compactMap(\.port))
        if !held.contains(home) && PortCheck.isFree(home) { return home }
        if let range = spec.ports.first?.published, range.count > 1 {
            if let free = range.first(where: { !held.contains($0) && PortCheck.isFree($0) }) { return free }
        }
        return PortCheck.freePort(avoiding: held)
    }

    /// A replica's environment: the base, the service's environment with service URLs rewritten to
    /// local replicas, then the supervisor's own settings.
    private func environment(for record: ReplicaRecord) -> [String: String] {
        var environment = settings.baseEnvironment
        environment["PATH"] = "\(settings.binDirectory):\(environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin")"
        for (key, value) in record.definition.environment {
            environment[key] = rewriteServiceURLs(value)
        }
        environment["SWITCHBOARD_HOST"] = "127.0.0.1"
        if let port = record.port { environment["SWITCHBOARD_PORT"] = String(port) }
        environment["SWITCHBOARD_REPLICA"] = String(record.key.slot)
        environment["SWITCHBOARD_SERVICE_SECRET"] = settings.serviceSecret
        return environment
    }

    /// `scheme://service:port[/path]` items (comma-separated) become one item per local replica slot; items
    /// naming a service that is skipped here (e.g. redis without redis-server) are dropped, so the
    /// consumer sees the setting unset and uses its embedded default.
    func rewriteServiceURLs(_ value: String) -> String {
        let items = value.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingCharacters(in: .whitespaces) }
        var changed = false
        let rewritten = items.flatMap { item -> [String] in
            guard let schemeEnd = item.range(of: "://") else { return [item] }
            let scheme = item[..<schemeEnd.lowerBound]
            let rest = item[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            let path = rest[authorityEnd...]
            guard let colon = authority.lastIndex(of: ":") else { return [item] }
            let host = String(authority[..<colon])
            guard let target = project[host] else { return [item] }
            if programs[host] == nil && skipped[host] != nil {
                changed = true
                return []
            }
            let count = services[host]?.replicas ?? target.replicas
            let ports = (1...max(1, count)).compactMap { target.localPort(slot: $0) }
            guard !ports.isEmpty else { return [item] }
            changed = true
            return ports.map { "\(scheme)://127.0.0.1:\($0)\(path)" }
        }
        return changed ? rewritten.joined(separator: ",") : value
    }

    // MARK: Health

    /// Docker's probe schedule: `start_interval` while starting inside `start_period`, else `interval`;
    /// the wait runs from the end of one probe to the start of the next.
    static func monitorHealth(
        check: ComposeService.Healthcheck, probe: HealthProbe, started: ContinuousClock.Instant,
        report: (HealthProbe.Result, ContinuousClock.Instant) async -> Bool
    ) async {
        var starting = true
        while !Task.isCancelled {
            let inStartPeriod = ContinuousClock.now - started < check.startPeriod
            let wait = starting && inStartPeriod ? check.startInterval : check.interval
            try? await Task.sleep(for: wait)
            if Task.isCancelled { return }
            let probeStart = ContinuousClock.now
            let result = await probe.run()
            if Task.isCancelled { return }
            starting = await report(result, probeStart)
        }
    }

    /// Applies a probe result (moby `handleProbeResult`); returns whether the task is still `starting`.
    func reportHealth(_ id: Int, result: HealthProbe.Result, probeStart: ContinuousClock.Instant) async -> Bool {
        guard var record = records[id], record.state == .running, let check = record.definition.healthcheck else { return false }
        record.lastProbeOutput = result.output
        let previous = record.health
        if result.healthy {
            record.health = .healthy
            record.failingStreak = 0
            if record.runningAt == nil { record.runningAt = .now }
        } else if record.health == .starting, probeStart - record.startedAt < check.startPeriod {
            // Failures inside start_period do not count while starting.
        } else {
            record.failingStreak += 1
            if record.failingStreak >= check.retries { record.health = .unhealthy }
        }
        records[id] = record
        guard record.health != previous else { return record.health == .starting }
        record.log.note("health \(previous.rawValue) → \(record.health.rawValue)\(result.output.isEmpty ? "" : ": \(result.output)")")
        settings.metrics?.record(record)
        publish(record.key.service)
        if record.health == .unhealthy {
            if phase == .starting {
                startupFailure = "\(record.key) is unhealthy: \(result.output.isEmpty ? "healthcheck failed \(check.retries) times" : result.output)"
            } else if phase == .running, record.desired == .running {
                // Swarm fails an unhealthy task: it is shut down and the restart policy replaces it.
                taskFailed(record)
                record.log.note("stopping unhealthy replica")
                Task { await self.stopTask(id, drain: true, giveUp: false) }
            }
        }
        return record.health == .starting
    }

    // MARK: Exit and restart

    func exited(_ id: Int, status: ExitStatus) async {
        guard var record = records[id] else { return }
        record.healthTask?.cancel()
        record.lastExit = status
        if let cgroup = record.cgroup {
            let usage = await BlockingIO.run { () -> CgroupUsage in
                let usage = cgroup.usage()
                cgroup.remove()
                return usage
            }
            record.cgroup = nil
            if status == .signaled(SIGKILL), (usage.oomKills ?? 0) > 0 { record.oomKilled = true }
        }
        guard let current = records[id] else { return }
        record.desired = current.desired
        record.draining = current.draining
        let stopping = record.desired == .shutdown || current.state == .stopping || phase == .stopping || phase == .stopped
        record.state = stopping ? .stopped : .exited
        records[id] = record
        publish(record.key.service)
        if record.oomKilled {
            settings.metrics?.oomKilled(record.key.service)
            let limit = record.definition.limits.memory.map { " (memory limit \(Units.formatBytes($0)))" } ?? ""
            record.log.note("OOM-killed by the kernel\(limit)")
        }
        if stopping {
            records[id] = nil
            settings.metrics?.remove(task: id)
            return
        }
        settings.metrics?.record(record)
        record.log.note("exited (\(status))")
        taskFailed(record)
        if phase == .starting || phase == .created {
            if status.succeeded && isOneShot(record.key.service) { return }
            startupFailure = "\(record.key) exited during start-up (\(status))\(record.log.lastProblem.map { ": \($0)" } ?? "")"
            return
        }
        guard phase == .running, shouldRestart(record, status: status) else {
            if phase == .running { record.log.note("not restarting (restart_policy \(record.definition.restartPolicy.condition.rawValue))") }
            return
        }
        guard var history = slots[record.key] else { return }
        history.restarts += 1
        history.restartTimes.append(.now)
        slots[record.key] = history
        settings.metrics?.restarted(record.key.service)
        let delay = record.definition.restartPolicy.delay
        record.log.note("restarting in \(Units.format(delay)) (restart \(history.restarts))")
        Task { [weak self] in
            try? await Task.sleep(for: delay)
            await self?.restart(id)
        }
    }

    /// Replaces an exited task with a new one from the service's current definition (as Swarm's restart
    /// supervisor does), unless the slot was given up meanwhile.
    private func restart(_ id: Int) async {
        guard phase == .running, let record = records[id], record.desired == .running, record.state == .exited else { return }
        records[id] = nil
        settings.metrics?.remove(task: id)
        // An update may have put a task of the current definition in the slot meanwhile.
        let definition = services[record.key.service]?.definition
        if tasks(in: record.key).contains(where: { $0.definition == definition && $0.state == .running }) {
            record.log.note("not restarting task \(id): the slot has a newer task")
            return
        }
        do {
            try await launch(record.key.service, slot: record.key.slot)
        } catch {
            record.log.note("restart failed: \(error.description)")
        }
    }

    /// Swarm's restart policy: condition, then max_attempts counted over `window` (or the spec version's lifetime).
    private func shouldRestart(_ record: ReplicaRecord, status: ExitStatus) -> Bool {
        let policy = record.definition.restartPolicy
        switch policy.condition {
        case .none: return false
        case .onFailure where status.succeeded: return false
        default: break
        }
        guard policy.maxAttempts > 0, let history = slots[record.key] else { return true }
        if policy.window == .zero { return history.restarts < policy.maxAttempts }
        let since = ContinuousClock.now - policy.window
        return history.restartTimes.filter { $0 > since }.count < policy.maxAttempts
    }

    // MARK: Stopping

    /// Stops a task: out of the routing list first (waiting for the watchers' acknowledgement when
    /// `drain`), then its stop signal, SIGKILL after the grace period. A task given up is not restarted;
    /// otherwise (an unhealthy task) the restart policy replaces it.
    func stopTask(_ id: Int, drain: Bool, giveUp: Bool = true) async {
        guard var record = records[id] else { return }
        if giveUp { record.desired = .shutdown }
        guard record.state == .running, let process = record.process else {
            if giveUp {
                records[id] = nil
                settings.metrics?.remove(task: id)
                publish(record.key.service)
            }
            return
        }
        record.draining = true
        records[id] = record
        let version = publish(record.key.service)
        if drain {
            let laggards = await board.awaitAcknowledged(record.key.service, version: version, timeout: settings.drainTimeout)
            record.log.note(
                laggards.isEmpty
                    ? "drained: out of the routing list (version \(version))"
                    : "drain timed out after \(Units.format(settings.drainTimeout)) waiting for \(laggards.joined(separator: ", "))"
            )
        }
        guard var current = records[id], current.state == .running else { return }
        if giveUp { current.state = .stopping }
        current.healthTask?.cancel()
        records[id] = current
        let status = await process.stop(signal: record.definition.stopSignal, grace: record.definition.stopGracePeriod)
        if giveUp { record.log.note("stopped task \(id) (\(status))") }
    }

    // MARK: Resource use

    func sampleLoop() async {
        while !Task.isCancelled {
            await sample()
            if let reporter = settings.resources {
                let running = records.values.filter { $0.state == .running }.sorted { $0.id < $1.id }
                await reporter.report(running.compactMap { record in
                    record.usage.map { ResourceReporter.Replica(service: record.key.service, name: record.key.description, url: record.url, usage: $0) }
                })
            }
            try? await Task.sleep(for: settings.sampleInterval)
        }
    }

    /// Reads every running task's resource use; CPU cores are the change in CPU time over the interval.
    func sample() async {
        let targets = records.values.filter { $0.state == .running }.map { (id: $0.id, cgroup: $0.cgroup, group: $0.process?.pid) }
        let readings = await BlockingIO.run {
            targets.map { target in (target.id, ResourceUsage.read(cgroup: target.cgroup, processGroup: target.group), ContinuousClock.now) }
        }
        for (id, reading, at) in readings {
            guard var record = records[id] else { continue }
            let seconds = Double(reading.cpuNanoseconds ?? 0) / 1e9
            var cores: Double?
            if let previous = record.usage {
                let elapsed = (at - previous.sampledAt).seconds
                if elapsed > 0 { cores = max(0, seconds - previous.cpuSeconds) / elapsed }
            }
            record.usage = ResourceUsage(
                cpuSeconds: seconds, cpuCores: cores, cpuLimitCores: record.definition.limits.cpuCores,
                memoryBytes: reading.usage.memoryBytes, memoryLimit: reading.usage.memoryLimit ?? record.definition.limits.memory,
                pids: reading.usage.pids, oomKills: reading.usage.oomKills ?? 0, source: reading.source, sampledAt: at
            )
            records[id] = record
            settings.metrics?.record(record)
        }
    }
}
