import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SwitchboardCore

/// Scaling by hand (`switchboard scale`) and by the autoscaler.
extension Stack {
    /// Sets a service's replica count, as `docker service scale`: new slots take the lowest free numbers;
    /// removed slots are the ones without a ready task first, then the highest; their tasks leave the
    /// routing list before they are stopped. Returns the previous count.
    @discardableResult
    func scale(_ name: String, to replicas: Int) async throws(StackError) -> Int {
        guard phase == .running else { throw StackError("the stack is \(phase.rawValue), not running") }
        guard var runtime = services[name] else { throw StackError(unknownService(name)) }
        guard (0...1000).contains(replicas) else { throw StackError("replicas must be from 0 to 1000, not \(replicas)") }
        let previous = runtime.replicas
        runtime.replicas = replicas
        services[name] = runtime
        if previous != replicas { logger.info("\(name): scaling \(previous) → \(replicas)") }
        await reconcile(name)
        return previous
    }

    /// Brings the number of occupied slots to the desired count.
    func reconcile(_ name: String) async {
        guard phase == .running, let desired = services[name]?.replicas else { return }
        var occupied = occupiedSlots(name)
        var next = 1
        while occupied.count < desired, phase == .running {
            while occupied.contains(next) { next += 1 }
            do {
                try await launch(name, slot: next)
            } catch {
                logger.error("\(name).\(next): cannot start: \(error.description)")
                break
            }
            occupied = occupiedSlots(name)
        }
        if occupied.count > desired {
            let ranked = occupied.sorted { a, b in
                let readyA = tasks(in: ReplicaKey(service: name, slot: a)).contains(where: \.isReady)
                let readyB = tasks(in: ReplicaKey(service: name, slot: b)).contains(where: \.isReady)
                return readyA != readyB ? !readyA : a > b
            }
            let removed = ranked.prefix(occupied.count - desired)
            let ids = removed.flatMap { tasks(in: ReplicaKey(service: name, slot: $0)).map(\.id) }
            await withTaskGroup(of: Void.self) { group in
                for id in ids {
                    group.addTask { await self.stopTask(id, drain: true) }
                }
            }
        }
        publish(name)
    }

    // MARK: Autoscaling

    func autoscaleLoop(_ name: String) async {
        guard let period = autoscalers[name]?.spec.syncPeriod else { return }
        while !Task.isCancelled {
            try? await Task.sleep(for: period)
            if Task.isCancelled || phase != .running { return }
            await autoscale(name, now: .now)
        }
    }

    /// One autoscaler evaluation at `now`: reads the metrics, decides, scales, logs and exports the decision.
    @discardableResult
    func autoscale(_ name: String, now: ContinuousClock.Instant) async -> AutoscaleDecision? {
        guard phase == .running, let spec = autoscalers[name]?.spec, let runtime = services[name] else { return nil }
        let current = runtime.replicas
        let readings = await readings(name, targets: spec.targets)
        var forecast: Int?
        var unavailable: String?
        if let callsPerReplica = spec.callsPerReplica {
            switch await settings.forecasts.forecast(service: name) {
            case .success(let load): forecast = load.replicas(callsPerReplica: callsPerReplica)
            case .failure(let missing): unavailable = missing.reason
            }
        }
        guard var autoscaler = autoscalers[name] else { return nil }
        let previous = autoscaler.decisions.last
        let decision = autoscaler.evaluate(now: now, current: current, readings: readings, forecast: forecast, forecastUnavailable: unavailable)
        if let unavailable, previous == nil || previous?.forecastUnavailable == nil {
            logger.warning("\(name): autoscaling is reactive only: \(unavailable)")
        } else if unavailable == nil, previous?.forecastUnavailable != nil {
            logger.notice("\(name): autoscaling uses the learn service's forecast again")
        }
        if decision.desired != current {
            autoscaler.recordScale(from: current, to: decision.desired, at: now)
        }
        autoscalers[name] = autoscaler
        settings.metrics?.autoscaled(name, desired: decision.desired, outcome: decision.outcome)
        let message: Logger.Message = "\(name): autoscale \(decision.summary)"
        if decision.desired != current { logger.notice(message) } else { logger.debug(message) }
        if decision.desired != current {
            do {
                try await scale(name, to: decision.desired)
            } catch {
                logger.error("\(name): autoscale could not scale: \(error.description)")
            }
        }
        return decision
    }

    /// Each target's per-replica readings: CPU and memory from the last resource sample, other gauges
    /// scraped from the ready replicas' `/metrics`.
    private func readings(_ name: String, targets: [AutoscaleSpec.Target]) async -> [MetricReading] {
        let wanted = records.values.filter { $0.key.service == name && $0.desired == .running && $0.state != .stopped }.sorted { $0.id < $1.id }
        let ready = wanted.filter(\.isReady)
        let unready = wanted.filter { !$0.isReady }
        var scraped: [Int: String] = [:]
        if targets.contains(where: { if case .metric = $0 { return true } else { return false } }) {
            let urls = ready.compactMap { record in record.url.map { (record.id, $0 + "/metrics") } }
            await withTaskGroup(of: (Int, String?).self) { group in
                for (id, url) in urls {
                    group.addTask { (id, await Self.fetch(url)) }
                }
                for await (id, text) in group {
                    if let text { scraped[id] = text }
                }
            }
        }
        return targets.map { target in
            let limits = { (record: ReplicaRecord) in record.definition.limits }
            switch target {
            case .cpuUtilization, .cpuAverage:
                let capacity = { (record: ReplicaRecord) -> Double in
                    if case .cpuAverage = target { return 1 }
                    return limits(record).reservedNanoCPUs.map { Double($0) / 1e9 } ?? limits(record).cpuCores ?? 1
                }
                return MetricReading(target: target, ready: ready.map { (value: $0.usage?.cpuCores, capacity: capacity($0)) }, unready: unready.map(capacity))
            case .memoryUtilization, .memoryAverage:
                let capacity = { (record: ReplicaRecord) -> Double? in
                    if case .memoryAverage = target { return 1 }
                    return (limits(record).memoryReservation ?? limits(record).memory).map(Double.init)
                }
                return MetricReading(
                    target: target,
                    ready: ready.compactMap { record in capacity(record).map { (value: record.usage?.memoryBytes.map(Double.init), capacity: $0) } },
                    unready: unready.compactMap(capacity)
                )
            case .metric(let metric, _):
                return MetricReading(
                    target: target, ready: ready.map { (value: scraped[$0.id].flatMap { PrometheusText.sum(of: metric, in: $0) }, capacity: 1) },
                    unready: unready.map { _ in 1 }
                )
            }
        }
    }

    /// The body of a `GET url` answered with 200 within 2 s, or nil.
    static func fetch(_ url: String) async -> String? {
        do {
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(2))
            guard response.status == .ok else { return nil }
            return String(buffer: try await response.body.collect(upTo: 8 << 20))
        } catch {
            return nil
        }
    }
}
