import Synchronization
import SwitchboardCore

/// The replicas of each service that may receive traffic, versioned, with the watchers (gateways) that
/// route by them. A watcher that asks for changes after version N acknowledges N; draining waits until
/// every live watcher acknowledged the list without the replica.
final class EndpointBoard: Sendable {
    /// A watcher that has not asked for this long is taken to be gone.
    let liveness: Duration

    private struct Watcher {
        var acknowledged: Int
        var seen: ContinuousClock.Instant
    }

    private struct State {
        var lists: [String: (version: Int, endpoints: [ReplicaEndpoints.Endpoint])] = [:]
        var watchers: [String: [String: Watcher]] = [:]
        var waiters: [Int: (service: String, continuation: CheckedContinuation<Void, Never>)] = [:]
        var nextWaiter = 0
    }

    private let state = Mutex(State())

    init(liveness: Duration = .seconds(30)) {
        self.liveness = liveness
    }

    /// Sets a service's list; the version grows only when the list changed. Returns the version.
    @discardableResult
    func publish(_ service: String, _ endpoints: [ReplicaEndpoints.Endpoint]) -> Int {
        let (version, woken) = state.withLock { state -> (Int, [CheckedContinuation<Void, Never>]) in
            let old = state.lists[service]
            if let old, old.endpoints == endpoints { return (old.version, []) }
            let version = (old?.version ?? 0) + 1
            state.lists[service] = (version, endpoints)
            var woken: [CheckedContinuation<Void, Never>] = []
            for (id, waiter) in state.waiters where waiter.service == service {
                woken.append(waiter.continuation)
                state.waiters[id] = nil
            }
            return (version, woken)
        }
        for continuation in woken { continuation.resume() }
        return version
    }

    func current(_ service: String) -> ReplicaEndpoints {
        state.withLock { state in
            let list = state.lists[service]
            return ReplicaEndpoints(service: service, version: list?.version ?? 0, endpoints: list?.endpoints ?? [])
        }
    }

    /// The list once its version is past `since`, or after `wait`; records `watcher`'s acknowledgement of `since`.
    func watch(_ service: String, since: Int, watcher: String?, wait: Duration) async -> ReplicaEndpoints {
        note(watcher, service: service, acknowledged: since)
        if current(service).version <= since {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.changed(service, after: since) }
                group.addTask { try? await Task.sleep(for: wait) }
                await group.next()
                group.cancelAll()
            }
        }
        note(watcher, service: service, acknowledged: since)
        return current(service)
    }

    /// Waits until every live watcher of `service` acknowledged `version`, at most `timeout`.
    /// Returns the watchers that did not.
    func awaitAcknowledged(_ service: String, version: Int, timeout: Duration) async -> [String] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let laggards = state.withLock { state -> [String] in
                let now = ContinuousClock.now
                return (state.watchers[service] ?? [:]).filter { now - $0.value.seen < liveness && $0.value.acknowledged < version }.map(\.key).sorted()
            }
            if laggards.isEmpty || ContinuousClock.now >= deadline { return laggards }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Live watchers of a service, with the version each acknowledged.
    func watchers(_ service: String) -> [String: Int] {
        state.withLock { state in
            let now = ContinuousClock.now
            return (state.watchers[service] ?? [:]).filter { now - $0.value.seen < liveness }.mapValues(\.acknowledged)
        }
    }

    private func note(_ watcher: String?, service: String, acknowledged: Int) {
        guard let watcher, !watcher.isEmpty else { return }
        state.withLock { state in
            let previous = state.watchers[service]?[watcher]?.acknowledged ?? 0
            state.watchers[service, default: [:]][watcher] = Watcher(acknowledged: max(previous, acknowledged), seen: .now)
        }
    }

    private func changed(_ service: String, after version: Int) async {
        let id = state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if (state.lists[service]?.version ?? 0) > version || Task.isCancelled { return true }
                    state.waiters[id] = (service, continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.continuation.resume()
        }
    }
}
