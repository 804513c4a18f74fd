import Foundation
import Logging
import SwitchboardCore

/// Rolling updates and rollbacks with swarmkit's updater semantics (`manager/orchestrator/update/updater.go`):
/// dirty slots, `parallelism` workers, `delay` after every slot per worker, start-first/stop-first,
/// failures counted for tasks this run created that end before RUNNING or within `monitor` of it,
/// `failures / dirty > max_failure_ratio` firing `failure_action`, a final monitor window, and no
/// rollback of a rollback.
extension Stack {
    // MARK: Requests

    /// Re-reads the compose file for the service, applies the request and starts an update run.
    /// Returns whether the task definition changed.
    @discardableResult
    func update(_ name: String, _ request: UpdateRequest) async throws(StackError) -> Bool {
        guard phase == .running else { throw StackError("the stack is \(phase.rawValue), not running") }
        guard var runtime = services[name] else { throw StackError(unknownService(name)) }
        var spec = runtime.spec
        if let path = settings.composePath {
            do {
                let project = try ComposeLoader.load(path: path, environment: settings.composeVariables)
                guard let fresh = project[name] else { throw StackError("service \(name) is no longer in \(path)") }
                spec = fresh
            } catch let error as ComposeError {
                throw StackError(error.description)
            } catch let error as StackError {
                throw error
            } catch {
                throw StackError("\(error)")
            }
        }
        var overrides = runtime.current.overrides
        for key in request.removedEnvironment {
            overrides.environment[key] = nil
            overrides.removedEnvironment.insert(key)
        }
        for (key, value) in request.environment {
            overrides.environment[key] = value
            overrides.removedEnvironment.remove(key)
        }
        if let binary = request.binary {
            guard let path = resolve(binary) else { throw StackError("--binary \(binary): no executable file there") }
            overrides.binary = path
        }
        if request.force { overrides.forceUpdate += 1 }
        let definition = try define(spec, overrides: overrides)
        let changed = definition != runtime.definition
        if changed {
            runtime.previous = runtime.current
            runtime.current = .init(spec: spec, definition: definition, number: nextVersion, overrides: overrides)
            nextVersion += 1
            logger.info("\(name): new definition (spec \(runtime.version))")
        } else {
            // update_config, rollback_config or the healthcheck-free parts changed: no task is dirty.
            runtime.current.spec = spec
            runtime.current.overrides = overrides
        }
        // A new definition clears the update state (swarmkit's controlapi); the updater sets UPDATING when
        // slots are dirty, here at once so that followers see it.
        runtime.update = nil
        services[name] = runtime
        if !dirtySlots(name).isEmpty {
            services[name]?.update = UpdateStatus(state: .updating, message: "update in progress")
        }
        startUpdateRun(name)
        return changed
    }

    /// `docker service rollback`: the previous definition becomes current (and the current one previous),
    /// rolled out with the restored definition's `rollback_config`.
    func rollback(_ name: String) throws(StackError) {
        guard phase == .running else { throw StackError("the stack is \(phase.rawValue), not running") }
        guard var runtime = services[name] else { throw StackError(unknownService(name)) }
        guard let previous = runtime.previous else { throw StackError("service \(name) does not have a previous spec to roll back to") }
        runtime.previous = runtime.current
        runtime.current = previous
        runtime.update = UpdateStatus(state: .rollbackStarted, message: "manually requested rollback")
        services[name] = runtime
        logger.info("\(name): manually requested rollback to spec \(previous.number)")
        startUpdateRun(name)
    }

    func unknownService(_ name: String) -> String {
        let known = services.keys.sorted().joined(separator: ", ")
        if let reason = skipped[name] { return "service \(name) is not running here: \(reason)" }
        return "unknown service '\(name)' (services: \(known))"
    }

    // MARK: The updater

    /// Cancels the service's running updater (waiting for it to finish) and starts a new one, as swarmkit's
    /// update supervisor does when a service's spec changes.
    func startUpdateRun(_ name: String) {
        if runs[name] != nil { runs[name]?.stopped = true }
        let previous = runTasks[name]
        let id = nextRun
        nextRun += 1
        runTasks[name] = Task {
            await previous?.value
            await self.runUpdate(name, id: id)
        }
    }

    /// Slots whose tasks are not all of the current definition, or that hold more than one task.
    func dirtySlots(_ name: String) -> [Int] {
        guard let definition = services[name]?.definition else { return [] }
        return occupiedSlots(name).filter { slot in
            let tasks = tasks(in: ReplicaKey(service: name, slot: slot))
            return tasks.count > 1 || tasks.contains { $0.definition != definition }
        }
    }

    private func runUpdate(_ name: String, id: Int) async {
        guard phase == .running, var runtime = services[name] else { return }
        if let state = runtime.update?.state, state.isPaused { return }
        let dirty = dirtySlots(name)
        guard !dirty.isEmpty else {
            if let state = runtime.update?.state, state == .updating || state == .rollbackStarted { complete(name) }
            return
        }
        if runtime.update == nil {
            runtime.update = UpdateStatus(state: .updating, message: "update in progress")
            services[name] = runtime
        }
        let rollback = runtime.update?.state == .rollbackStarted
        var config = rollback ? runtime.spec.rollbackConfig : runtime.spec.updateConfig
        if config.order == .startFirst && runtime.spec.ports.contains(where: { $0.published != nil }) {
            // Swarm's routing mesh keeps a published port while two tasks run; here the replica itself
            // listens on it, so the new one can only start once the old one has stopped.
            config.order = .stopFirst
            logger.notice("\(name): start-first needs its published port twice; updating stop-first")
        }
        runs[name] = UpdateRun(id: id, rollback: rollback, config: config, dirtyCount: dirty.count, queue: dirty)
        publish(name)
        logger.info("\(name): \(rollback ? "rolling back" : "updating") \(dirty.count) slot(s) to spec \(runtime.version), parallelism \(config.parallelism), order \(config.order.rawValue)")
        let workers = config.parallelism == 0 ? dirty.count : config.parallelism
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<workers {
                group.addTask { await self.updateWorker(name, run: id) }
            }
        }
        // Keep watching for failures one monitor period more (delay ≥ monitor makes it delay + 1 s).
        var monitor = config.monitor
        if config.delay >= monitor { monitor = config.delay + .seconds(1) }
        let deadline = ContinuousClock.now + monitor
        while isActive(name, run: id), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if isActive(name, run: id), let state = services[name]?.update?.state, state == .updating || state == .rollbackStarted {
            complete(name)
        }
        if runs[name]?.id == id { runs[name] = nil }
    }

    /// Whether a run may go on: current, not cancelled, no failure action fired, stack running.
    private func isActive(_ name: String, run id: Int) -> Bool {
        guard phase == .running, let run = runs[name], run.id == id else { return false }
        return !run.stopped && !run.triggered
    }

    private func complete(_ name: String) {
        guard var runtime = services[name], var status = runtime.update else { return }
        let rollback = status.state == .rollbackStarted
        status.state = rollback ? .rollbackCompleted : .completed
        status.message = rollback ? "rollback completed" : "update completed"
        status.completedAt = Date()
        runtime.update = status
        services[name] = runtime
        publish(name)
        logger.info("\(name): \(status.message)")
    }

    /// One of `parallelism` workers: takes the next dirty slot, replaces its task, waits `delay`.
    private func updateWorker(_ name: String, run id: Int) async {
        while isActive(name, run: id), var run = runs[name], !run.queue.isEmpty {
            let slot = run.queue.removeFirst()
            runs[name] = run
            await updateSlot(name, slot: slot, run: id)
            let delay = run.config.delay
            if delay > .zero {
                let until = ContinuousClock.now + delay
                while runs[name]?.id == id, runs[name]?.stopped == false, ContinuousClock.now < until {
                    try? await Task.sleep(for: .milliseconds(20))
                }
            }
        }
    }

    /// Replaces a slot's tasks with one of the current definition (swarmkit `worker` + `updateTask`).
    private func updateSlot(_ name: String, slot: Int, run id: Int) async {
        guard let definition = services[name]?.definition, let run = runs[name], run.id == id else { return }
        let key = ReplicaKey(service: name, slot: slot)
        let existing = tasks(in: key)
        // A task of the current definition is kept and the others are shut down.
        if let clean = existing.first(where: { $0.definition == definition && $0.state == .running }) ?? existing.first(where: { $0.definition == definition }) {
            await withTaskGroup(of: Void.self) { group in
                for other in existing where other.id != clean.id {
                    group.addTask { await self.stopTask(other.id, drain: true) }
                }
            }
            return
        }
        if run.config.order == .stopFirst {
            // The new task starts once the old ones have stopped (the stop itself is bounded by the grace period).
            await withTaskGroup(of: Void.self) { group in
                for old in existing {
                    group.addTask { await self.stopTask(old.id, drain: true) }
                }
            }
            guard runs[name]?.id == id, runs[name]?.stopped == false else { return }
        }
        let task: Int
        do {
            task = try await launch(name, slot: slot)
        } catch {
            logger.error("\(key): update could not start a task: \(error.description)")
            return
        }
        runs[name]?.updatedTasks[task] = .some(nil)
        // Wait (without a timeout, as swarmkit) until the task is RUNNING or has failed.
        while true {
            guard let current = runs[name], current.id == id, !current.stopped else { return }
            guard let record = records[task] else { break }
            if record.runningAt != nil || record.state != .running || record.health == .unhealthy { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        runs[name]?.updatedTasks[task] = .some(.now)
        guard let record = records[task], record.state == .running, record.health != .unhealthy, record.runningAt != nil else {
            // Start-first keeps the old task when the new one failed.
            return
        }
        // The slot ends with the new task alone: the old ones (start-first), and any task the restart
        // policy started in the slot meanwhile.
        let others = tasks(in: key).filter { $0.id != task }.map(\.id)
        await withTaskGroup(of: Void.self) { group in
            for other in others {
                group.addTask { await self.stopTask(other, drain: true) }
            }
        }
    }

    // MARK: Failures

    /// A task ended or turned unhealthy. When the service's running updater created it and it failed
    /// before RUNNING or within `monitor` of it, it counts; past `max_failure_ratio`, `failure_action` fires.
    func taskFailed(_ record: ReplicaRecord) {
        let name = record.key.service
        guard phase == .running, var run = runs[name], !run.stopped, !run.triggered, run.config.failureAction != .continue,
            let entry = run.updatedTasks[record.id], !run.counted.contains(record.id)
        else { return }
        if let startedAt = entry, ContinuousClock.now - startedAt > run.config.monitor { return }
        run.counted.insert(record.id)
        run.failures += 1
        runs[name] = run
        logger.warning("\(record.key): task \(record.id) failed during the \(run.rollback ? "rollback" : "update") (\(run.failures) of \(run.dirtyCount) slot(s))")
        guard run.ratioExceeded else { return }
        runs[name]?.triggered = true
        switch run.config.failureAction {
        case .rollback where !run.rollback && services[name]?.previous != nil:
            guard var runtime = services[name], let previous = runtime.previous else { return }
            runtime.current = previous
            runtime.previous = nil
            runtime.update = UpdateStatus(
                state: .rollbackStarted, message: "update rolled back due to failure or early termination of task \(record.id)",
                startedAt: runtime.update?.startedAt ?? Date()
            )
            services[name] = runtime
            logger.warning("\(name): \(runtime.update?.message ?? "")")
            startUpdateRun(name)
        default:
            // pause, and a rollback that fails (never roll back a rollback).
            guard var runtime = services[name] else { return }
            runtime.update = UpdateStatus(
                state: run.rollback ? .rollbackPaused : .paused,
                message: "\(run.rollback ? "rollback" : "update") paused due to failure or early termination of task \(record.id)",
                startedAt: runtime.update?.startedAt ?? Date()
            )
            services[name] = runtime
            publish(name)
            logger.warning("\(name): \(runtime.update?.message ?? "")")
        }
    }
}
