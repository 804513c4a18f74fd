import Foundation
import Logging
import SwitchboardCore

/// How the supervisor runs the compose services on this machine.
struct StackSettings: Sendable {
    /// Where the suite's binaries are (next to `switchboard`).
    let binDirectory: String
    let stateDirectory: String
    let workingDirectory: String
    /// Variables available to interpolation and passed to every replica.
    let serviceSecret: String
    /// The environment every replica starts from (PATH, HOME, LANG…).
    let baseEnvironment: [String: String]
    let console: Console?
    /// Longest `up` waits for every replica to be running and healthy.
    var startTimeout: Duration = .seconds(120)
}

/// Runs a compose project as local processes: start order, health, restarts, graceful stop.
actor Stack {
    enum Phase: String, Sendable {
        case created, starting, running, stopping, stopped, failed
    }

    let project: ComposeProject
    let settings: StackSettings
    private let logger: Logger
    private(set) var phase: Phase = .created
    private var records: [ReplicaKey: ReplicaRecord] = [:]
    /// Resolved program per runnable service; services missing here are skipped.
    private var programs: [String: (path: String, arguments: [String])] = [:]
    private(set) var skipped: [String: String] = [:]
    private var startupFailure: String?

    init(project: ComposeProject, settings: StackSettings, logger: Logger) {
        self.project = project
        self.settings = settings
        self.logger = logger
    }

    // MARK: Preparation

    /// Resolves every program and checks every port before anything starts.
    func prepare() throws(StackError) {
        for service in project.services {
            if let local = service.local {
                guard let path = resolve(local.command[0]) else {
                    if local.optional {
                        skipped[service.name] = "'\(local.command[0])' is not installed"
                        logger.warning("skipping service \(service.name): \(skipped[service.name]!)")
                        continue
                    }
                    throw StackError("service \(service.name): program '\(local.command[0])' not found in \(settings.binDirectory) or on PATH (build it with 'swift build' or install it)")
                }
                programs[service.name] = (path, Array(local.command.dropFirst()))
            } else if let known = KnownImages.program(for: service, resolve: resolve) {
                programs[service.name] = known
            } else {
                skipped[service.name] = service.image.map { "no local program for image \($0)" } ?? "no x-switchboard.command"
                logger.warning("skipping service \(service.name): \(skipped[service.name]!)")
            }
        }
        var claimed: [Int: ReplicaKey] = [:]
        for service in project.services where programs[service.name] != nil {
            for slot in 1...max(1, service.replicas) where service.replicas > 0 {
                let key = ReplicaKey(service: service.name, slot: slot)
                let port = service.localPort(slot: slot)
                if let port {
                    if let other = claimed[port] { throw StackError("port \(port) is claimed by both \(other) and \(key)") }
                    claimed[port] = key
                    if !PortCheck.isFree(port) {
                        throw StackError("port \(port) for \(key) is already in use (stop what uses it, or set another port in the compose file or environment)")
                    }
                }
                records[key] = ReplicaRecord(
                    key: key, port: port,
                    log: ReplicaLog(name: key.description, directory: "\(settings.stateDirectory)/logs", console: settings.console)
                )
            }
        }
    }

    /// Finds a program: a path as given, else next to `switchboard`, else on PATH.
    nonisolated func resolve(_ program: String) -> String? {
        if program.contains("/") {
            let path = program.hasPrefix("/") ? program : "\(settings.workingDirectory)/\(program)"
            return FileManager.default.isExecutableFile(atPath: path) ? path : nil
        }
        let candidates = [settings.binDirectory] + (settings.baseEnvironment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":").map(String.init)
        for directory in candidates {
            let path = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    // MARK: Start and stop

    /// Starts every service in dependency order and waits until all replicas are running and healthy.
    func start() async throws(StackError) {
        phase = .starting
        let deadline = ContinuousClock.now + settings.startTimeout
        do {
            for service in try project.startOrder() where programs[service.name] != nil {
                try await waitForDependencies(of: service, deadline: deadline)
                for key in keys(of: service.name) { try await launch(key) }
            }
            try await waitUntil(deadline: deadline, what: "every replica to be running and healthy") { records in
                records.values.allSatisfy { $0.isReady || (self.isOneShot($0.key.service) && $0.lastExit == .exited(0)) }
            }
        } catch let error as StackError {
            phase = .failed
            throw error
        } catch let error as ComposeError {
            phase = .failed
            throw StackError(error.description)
        } catch {
            phase = .failed
            throw StackError("\(error)")
        }
        phase = .running
    }

    /// Stops every replica, dependents first, each with its stop signal and grace period.
    func stop() async {
        guard phase != .stopped else { return }
        phase = .stopping
        let order = (try? project.startOrder()) ?? project.services
        for service in order.reversed() {
            let keys = keys(of: service.name)
            await withTaskGroup(of: Void.self) { group in
                for key in keys {
                    guard var record = records[key], let process = record.process, process.status == nil else { continue }
                    record.state = .stopping
                    record.healthTask?.cancel()
                    records[key] = record
                    let log = record.log
                    group.addTask {
                        let status = await process.stop(signal: service.stopSignal, grace: service.stopGracePeriod)
                        log.note("stopped (\(status))")
                    }
                }
            }
            for key in keys { records[key]?.state = .stopped }
        }
        phase = .stopped
    }

    /// A service others wait on to complete (`service_completed_successfully`).
    private nonisolated func isOneShot(_ service: String) -> Bool {
        project.services.contains { $0.dependsOn.contains { $0.service == service && $0.condition == .completedSuccessfully } }
    }

    private func keys(of service: String) -> [ReplicaKey] {
        records.keys.filter { $0.service == service }.sorted()
    }

    private func waitForDependencies(of service: ComposeService, deadline: ContinuousClock.Instant) async throws {
        for dependency in service.dependsOn {
            guard programs[dependency.service] != nil else { continue }
            let name = dependency.service
            switch dependency.condition {
            case .started:
                continue
            case .healthy:
                guard project[name]?.healthcheck != nil else {
                    throw StackError("\(service.name) depends on \(name) being healthy, but \(name) has no healthcheck")
                }
                try await waitUntil(deadline: deadline, what: "\(name) to be healthy") { records in
                    records.values.filter { $0.key.service == name }.allSatisfy { $0.health == .healthy }
                }
            case .completedSuccessfully:
                try await waitUntil(deadline: deadline, what: "\(name) to complete") { records in
                    records.values.filter { $0.key.service == name }.allSatisfy { $0.lastExit == .exited(0) }
                }
            }
        }
    }

    /// Polls until `condition` holds; a replica failing meanwhile ends the start.
    private func waitUntil(deadline: ContinuousClock.Instant, what: String, _ condition: ([ReplicaKey: ReplicaRecord]) -> Bool) async throws {
        while !condition(records) {
            if let startupFailure { throw StackError(startupFailure) }
            if ContinuousClock.now > deadline {
                let waiting = records.values.filter { !$0.isReady }.sorted { $0.key < $1.key }
                let detail = waiting.map { "\($0.key) is \($0.state.rawValue)/\($0.health.rawValue)\($0.lastProbeOutput.isEmpty ? "" : " (\($0.lastProbeOutput))")" }
                throw StackError("timed out after \(Units.format(settings.startTimeout)) waiting for \(what): \(detail.joined(separator: "; "))")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        if let startupFailure { throw StackError(startupFailure) }
    }

    // MARK: Replica processes

    private func launch(_ key: ReplicaKey) async throws(StackError) {
        guard var record = records[key], let service = project[key.service], let program = programs[key.service] else { return }
        record.generation += 1
        let generation = record.generation
        var launch = ProcessLaunch(executable: program.path, arguments: program.arguments, environment: environment(for: service, record: record))
        launch.workingDirectory = settings.workingDirectory
        launch.stdout = .pipe
        launch.stderr = .pipe
        let process: ChildProcess
        do {
            process = try await ChildProcess.spawn(launch)
        } catch {
            throw StackError("\(key): \(error.description)")
        }
        record.process = process
        record.state = .running
        record.health = service.healthcheck == nil ? .none : .starting
        record.failingStreak = 0
        record.lastProbeOutput = ""
        record.startedAt = .now
        record.startedWall = Date()
        record.log.note("started pid \(process.pid)\(record.port.map { " on port \($0)" } ?? "")")
        let log = record.log
        if let stdout = process.stdout { Task.detached { await log.pump(stdout) } }
        if let stderr = process.stderr { Task.detached { await log.pump(stderr) } }
        Task { [weak self] in
            let status = await process.wait()
            await self?.exited(key, generation: generation, status: status)
        }
        if let check = service.healthcheck {
            let probe = HealthProbe(test: check.test, timeout: check.timeout, environment: launch.environment, resolve: { [settings] program in
                Stack.resolve(program, settings: settings)
            })
            let started = ContinuousClock.now
            record.healthTask = Task { [weak self] in
                await Stack.monitorHealth(check: check, probe: probe, started: started) { result, probeStart in
                    await self?.reportHealth(key, generation: generation, result: result, probeStart: probeStart) ?? false
                }
            }
        }
        records[key] = record
    }

    nonisolated static func resolve(_ program: String, settings: StackSettings) -> String? {
        if program.hasPrefix("/") { return FileManager.default.isExecutableFile(atPath: program) ? program : nil }
        for directory in [settings.binDirectory] + (settings.baseEnvironment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init) {
            let path = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// Docker's probe schedule: `start_interval` while starting inside `start_period`, else `interval`.
    private static func monitorHealth(
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

    /// Applies a probe result; returns whether the replica is still `starting`.
    private func reportHealth(_ key: ReplicaKey, generation: Int, result: HealthProbe.Result, probeStart: ContinuousClock.Instant) async -> Bool {
        guard var record = records[key], record.generation == generation, record.state == .running,
            let check = project[key.service]?.healthcheck
        else { return false }
        record.lastProbeOutput = result.output
        let previous = record.health
        if result.healthy {
            record.health = .healthy
            record.failingStreak = 0
            record.everHealthy = true
        } else if record.health == .starting, let startedAt = record.startedAt, probeStart - startedAt < check.startPeriod {
            // Failures inside start_period do not count while starting.
        } else {
            record.failingStreak += 1
            if record.failingStreak >= check.retries { record.health = .unhealthy }
        }
        records[key] = record
        if record.health != previous {
            record.log.note("health \(previous.rawValue) → \(record.health.rawValue)\(result.output.isEmpty ? "" : ": \(result.output)")")
        }
        if record.health == .unhealthy && previous != .unhealthy {
            if phase == .starting {
                startupFailure = "\(key) is unhealthy: \(result.output.isEmpty ? "healthcheck failed \(check.retries) times" : result.output)"
            } else if phase == .running {
                // Swarm replaces an unhealthy task: stop it; the restart policy starts a new one.
                if let process = record.process, let service = project[key.service] {
                    record.log.note("stopping unhealthy replica")
                    Task { await process.stop(signal: service.stopSignal, grace: service.stopGracePeriod) }
                }
            }
        }
        return record.health == .starting
    }

    private func exited(_ key: ReplicaKey, generation: Int, status: ExitStatus) async {
        guard var record = records[key], record.generation == generation else { return }
        record.healthTask?.cancel()
        record.lastExit = status
        let wasStopping = record.state == .stopping || phase == .stopping || phase == .stopped
        record.state = wasStopping ? .stopped : .exited
        records[key] = record
        guard !wasStopping else { return }
        record.log.note("exited (\(status))")
        if phase == .starting || phase == .created {
            if status.succeeded && isOneShot(key.service) { return }
            startupFailure = "\(key) exited during start-up (\(status))\(record.log.lastProblem.map { ": \($0)" } ?? "")"
            return
        }
        guard phase == .running, let service = project[key.service], shouldRestart(record, service: service, status: status) else { return }
        record.restarts += 1
        record.restartTimes.append(.now)
        records[key] = record
        let delay = service.restartPolicy.delay
        record.log.note("restarting in \(Units.format(delay)) (restart \(record.restarts))")
        Task { [weak self] in
            try? await Task.sleep(for: delay)
            await self?.restart(key, after: generation)
        }
    }

    private func restart(_ key: ReplicaKey, after generation: Int) async {
        guard phase == .running, let record = records[key], record.generation == generation, record.state == .exited else { return }
        do {
            try await launch(key)
        } catch {
            record.log.note("restart failed: \(error.description)")
        }
    }

    /// Swarm's restart policy: condition, then max_attempts counted over `window` (or the spec's lifetime).
    private func shouldRestart(_ record: ReplicaRecord, service: ComposeService, status: ExitStatus) -> Bool {
        let policy = service.restartPolicy
        switch policy.condition {
        case .none: return false
        case .onFailure where status.succeeded: return false
        default: break
        }
        guard policy.maxAttempts > 0 else { return true }
        if policy.window == .zero { return record.restarts < policy.maxAttempts }
        let since = ContinuousClock.now - policy.window
        return record.restartTimes.filter { $0 > since }.count < policy.maxAttempts
    }

    // MARK: Environment

    /// A replica's environment: the base, the compose `environment` with service URLs rewritten to
    /// local replicas, then the supervisor's own settings.
    private func environment(for service: ComposeService, record: ReplicaRecord) -> [String: String] {
        var environment = settings.baseEnvironment
        environment["PATH"] = "\(settings.binDirectory):\(environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin")"
        for (key, value) in service.environment {
            environment[key] = rewriteServiceURLs(value)
        }
        environment["SWITCHBOARD_HOST"] = "127.0.0.1"
        if let port = record.port { environment["SWITCHBOARD_PORT"] = String(port) }
        environment["SWITCHBOARD_REPLICA"] = String(record.key.slot)
        environment["SWITCHBOARD_SERVICE_SECRET"] = settings.serviceSecret
        return environment
    }

    /// `scheme://service:port[/path]` items (comma-separated) become one item per local replica; items
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
            let ports = (1...max(1, target.replicas)).compactMap { target.localPort(slot: $0) }
            guard !ports.isEmpty else { return [item] }
            changed = true
            return ports.map { "\(scheme)://127.0.0.1:\($0)\(path)" }
        }
        return changed ? rewritten.joined(separator: ",") : value
    }

    // MARK: Status

    var replicas: [ReplicaRecord] { records.values.sorted { $0.key < $1.key } }

    /// Process groups still alive, for `down`'s last-resort cleanup.
    var processGroups: [Int32] { records.values.compactMap { $0.process?.status == nil ? $0.process?.pid : nil } }
}
