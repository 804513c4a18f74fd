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
    /// The compose file and the variables it was read with, for `switchboard update`.
    var composePath: String?
    var composeVariables: [String: String] = [:]
    /// Where replica cgroups are created (``CgroupHierarchy/none`` for none).
    var cgroups: CgroupHierarchy = .none
    /// How often replica resource use is sampled.
    var sampleInterval: Duration = .seconds(2)
    /// Longest a replica leaving the routing list waits for watchers to acknowledge it.
    var drainTimeout: Duration = .seconds(5)
    /// Run each autoscaled service's loop every `sync_period`; tests drive ``Stack/autoscale(_:now:)`` instead.
    var autoscaleLoop = true
    /// Load forecasts added to the autoscaler's reactive recommendation.
    var forecasts: any LoadForecastSource = NoLoadForecast()
    /// Where each resource sample goes (the learn service), if anywhere.
    var resources: ResourceReporter?
    var metrics: SupervisorMetrics?
    /// The CPUs the engine's `cpus` check allows.
    var cpuCount = ProcessInfo.processInfo.activeProcessorCount
}

/// Runs a compose project as local processes: start order, health, restarts, resource limits,
/// rolling updates, scaling, autoscaling and graceful stop.
actor Stack {
    enum Phase: String, Sendable {
        case created, starting, running, stopping, stopped, failed
    }

    let project: ComposeProject
    let settings: StackSettings
    let logger: Logger
    /// What the gateways route by.
    nonisolated let board = EndpointBoard()
    var phase: Phase = .created
    /// Runnable services by name.
    var services: [String: ServiceRuntime] = [:]
    /// Every task by id.
    var records: [Int: ReplicaRecord] = [:]
    var slots: [ReplicaKey: SlotHistory] = [:]
    /// Resolved program per runnable service.
    var programs: [String: (path: String, arguments: [String])] = [:]
    var skipped: [String: String] = [:]
    var startupFailure: String?
    var nextTask = 1
    var nextRun = 1
    var nextVersion = 2
    var runs: [String: UpdateRun] = [:]
    var runTasks: [String: Task<Void, Never>] = [:]
    var autoscalers: [String: HorizontalAutoscaler] = [:]
    var background: [Task<Void, Never>] = []

    init(project: ComposeProject, settings: StackSettings, logger: Logger) {
        self.project = project
        self.settings = settings
        self.logger = logger
    }

    // MARK: Preparation

    /// Resolves every program, checks limits and ports before anything starts.
    func prepare() throws(StackError) {
        for service in project.services {
            let program: (path: String, arguments: [String])
            if let local = service.local {
                guard let path = resolve(local.command[0]) else {
                    if local.optional {
                        skipped[service.name] = "'\(local.command[0])' is not installed"
                        logger.warning("skipping service \(service.name): \(skipped[service.name]!)")
                        continue
                    }
                    throw StackError("service \(service.name): program '\(local.command[0])' not found in \(settings.binDirectory) or on PATH (build it with 'swift build' or install it)")
                }
                program = (path, Array(local.command.dropFirst()))
            } else if let known = KnownImages.program(for: service, resolve: resolve) {
                program = known
            } else {
                skipped[service.name] = service.image.map { "no local program for image \($0)" } ?? "no x-switchboard.command"
                logger.warning("skipping service \(service.name): \(skipped[service.name]!)")
                continue
            }
            programs[service.name] = program
            let definition = try define(service, overrides: ServiceOverrides())
            services[service.name] = ServiceRuntime(
                current: .init(spec: service, definition: definition, number: 1, overrides: ServiceOverrides()), replicas: service.replicas
            )
            if let autoscale = service.autoscale { autoscalers[service.name] = HorizontalAutoscaler(spec: autoscale) }
        }
        var claimed: [Int: ReplicaKey] = [:]
        for service in project.services where services[service.name] != nil {
            for slot in stride(from: 1, through: service.replicas, by: 1) {
                let key = ReplicaKey(service: service.name, slot: slot)
                guard let port = service.localPort(slot: slot) else { continue }
                if let other = claimed[port] { throw StackError("port \(port) is claimed by both \(other) and \(key)") }
                claimed[port] = key
                if !PortCheck.isFree(port) {
                    throw StackError("port \(port) for \(key) is already in use (stop what uses it, or set another port in the compose file or environment)")
                }
            }
        }
        for (controller, reason) in settings.cgroups.unavailable.sorted(by: { $0.key.rawValue < $1.key.rawValue }) where controller != .cpuacct {
            logger.notice("cgroup controller \(controller.rawValue) not used: \(reason)")
        }
    }

    /// The task definition of a service version: program, environment, limits and the rest of Swarm's TaskSpec.
    func define(_ service: ComposeService, overrides: ServiceOverrides) throws(StackError) -> TaskDefinition {
        guard var program = programs[service.name] else { throw StackError("service \(service.name) has no local program") }
        if let binary = overrides.binary { program.path = binary }
        var environment: [String: String] = [:]
        for (key, value) in service.environment { environment[key] = value }
        for key in overrides.removedEnvironment { environment[key] = nil }
        environment.merge(overrides.environment) { _, new in new }
        let path = program.path
        return TaskDefinition(
            program: program.path, arguments: program.arguments, binary: BinaryIdentity(path: path), environment: environment,
            image: service.image, healthcheck: service.healthcheck, stopSignal: service.stopSignal, stopGracePeriod: service.stopGracePeriod,
            limits: try ResourceLimits(service.resources, cpuCount: settings.cpuCount, service: service.name),
            restartPolicy: service.restartPolicy, ports: service.ports, basePort: service.local?.port, forceUpdate: overrides.forceUpdate
        )
    }

    /// Finds a program: a path as given, else next to `switchboard`, else on PATH.
    nonisolated func resolve(_ program: String) -> String? {
        Stack.resolve(program, settings: settings)
    }

    nonisolated static func resolve(_ program: String, settings: StackSettings) -> String? {
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
            for service in try project.startOrder() where services[service.name] != nil {
                try await waitForDependencies(of: service, deadline: deadline)
                for slot in stride(from: 1, through: services[service.name]?.replicas ?? 0, by: 1) {
                    _ = try await launch(service.name, slot: slot)
                }
            }
            try await waitUntil(deadline: deadline, what: "every replica to be running and healthy") { stack in
                stack.records.values.allSatisfy { $0.isReady || (stack.isOneShot($0.key.service) && $0.lastExit == .exited(0)) }
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
        publishAll()
        background.append(Task { [weak self] in await self?.sampleLoop() })
        if settings.autoscaleLoop {
            for name in autoscalers.keys.sorted() {
                background.append(Task { [weak self] in await self?.autoscaleLoop(name) })
            }
        }
    }

    /// Stops every replica, dependents first, each with its stop signal and grace period.
    func stop() async {
        guard phase != .stopped else { return }
        phase = .stopping
        for task in background { task.cancel() }
        background = []
        for name in runs.keys { runs[name]?.stopped = true }
        let order = (try? project.startOrder()) ?? project.services
        for service in order.reversed() {
            let ids = records.values.filter { $0.key.service == service.name }.map(\.id)
            await withTaskGroup(of: Void.self) { group in
                for id in ids {
                    group.addTask { await self.stopTask(id, drain: false) }
                }
            }
        }
        for task in runTasks.values { await task.value }
        // Tasks that never ran (or ended before) still hold cgroups.
        for record in records.values {
            if let cgroup = record.cgroup { await BlockingIO.run { cgroup.remove() } }
        }
        let cgroups = settings.cgroups
        await BlockingIO.run { cgroups.remove() }
        phase = .stopped
    }

    /// A service others wait on to complete (`service_completed_successfully`).
    nonisolated func isOneShot(_ service: String) -> Bool {
        project.services.contains { $0.dependsOn.contains { $0.service == service && $0.condition == .completedSuccessfully } }
    }

    private func waitForDependencies(of service: ComposeService, deadline: ContinuousClock.Instant) async throws {
        for dependency in service.dependsOn {
            guard services[dependency.service] != nil else { continue }
            let name = dependency.service
            switch dependency.condition {
            case .started:
                continue
            case .healthy:
                guard project[name]?.healthcheck != nil else {
                    throw StackError("\(service.name) depends on \(name) being healthy, but \(name) has no healthcheck")
                }
                try await waitUntil(deadline: deadline, what: "\(name) to be healthy") { stack in
                    stack.records.values.filter { $0.key.service == name }.allSatisfy { $0.health == .healthy }
                }
            case .completedSuccessfully:
                try await waitUntil(deadline: deadline, what: "\(name) to complete") { stack in
                    stack.records.values.filter { $0.key.service == name }.allSatisfy { $0.lastExit == .exited(0) }
                }
            }
        }
    }

    /// Polls until `condition` holds; a replica failing meanwhile ends the start.
    private func waitUntil(deadline: ContinuousClock.Instant, what: String, _ condition: (isolated Stack) -> Bool) async throws {
        while !condition(self) {
            if let startupFailure { throw StackError(startupFailure) }
            if ContinuousClock.now > deadline {
                let waiting = records.values.filter { !$0.isReady }.sorted { $0.key < $1.key }
                let detail = waiting.map { "\($0.key) is \($0.state.rawValue)/\($0.health.rawValue)\($0.lastProbeOutput.isEmpty ? "" : " (\($0.lastProbeOutput))")" }
                throw StackError("timed out after \(Units.format(settings.startTimeout)) waiting for \(what): \(detail.joined(separator: "; "))")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        if let startupFailure { throw StackError(startupFailure) }
    }

    // MARK: Status

    /// Tasks the supervisor keeps (wanted, or waiting for a restart), by service and slot.
    var replicas: [ReplicaRecord] { records.values.sorted { ($0.key, $0.id) < ($1.key, $1.id) } }

    /// Every task's report, with its slot's restart count.
    var replicaReports: [JSONValue] {
        replicas.map { $0.json.setting("restarts", to: .int(Int64(slots[$0.key]?.restarts ?? 0))) }
    }

    /// Process groups still alive, for `down`'s last-resort cleanup.
    var processGroups: [Int32] { records.values.compactMap { $0.process?.status == nil ? $0.process?.pid : nil } }

    /// A runnable service's state.
    func runtime(_ name: String) -> ServiceRuntime? { services[name] }

    /// Recent autoscaler decisions of a service, newest last.
    func autoscaleDecisions(_ name: String) -> [AutoscaleDecision] { autoscalers[name]?.decisions ?? [] }

    /// Names of the autoscaled services.
    var autoscaledServices: [String] { autoscalers.keys.sorted() }

    /// Tasks of a slot that are wanted.
    func tasks(in key: ReplicaKey) -> [ReplicaRecord] {
        records.values.filter { $0.key == key && $0.desired == .running }.sorted { $0.id < $1.id }
    }

    /// The slots of a service that hold a wanted task.
    func occupiedSlots(_ name: String) -> [Int] {
        Set(records.values.filter { $0.key.service == name && $0.desired == .running }.map(\.key.slot)).sorted()
    }

    /// Publishes the routing list of every service.
    func publishAll() {
        for name in services.keys { publish(name) }
    }

    /// Publishes a service's ready replicas and refreshes its metrics. Returns the list's version.
    @discardableResult
    func publish(_ name: String) -> Int {
        let ready = records.values.filter { $0.key.service == name && $0.isReady && $0.url != nil }.sorted { ($0.key.slot, $0.id) < ($1.key.slot, $1.id) }
        let version = board.publish(name, ready.map { ReplicaEndpoints.Endpoint(url: $0.url!, slot: $0.key.slot, task: $0.id) })
        if let runtime = services[name] {
            settings.metrics?.service(name, desired: runtime.replicas, ready: ready.count, specVersion: runtime.version, update: runtime.update?.state)
        }
        return version
    }
}
