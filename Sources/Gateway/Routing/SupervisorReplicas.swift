import Foundation
import NIOHTTP1
import Synchronization
import SwitchboardCore

/// The tool-service replicas that are healthy now, from the local supervisor's control API
/// (`GET /v1/services/<service>/endpoints`, service secret). A background long-poll keeps the list
/// current; each poll acknowledges the version the gateway routes by, so the supervisor stops a replica
/// only once the gateway has stopped sending it calls.
final class SupervisorReplicas: ReplicaSource {
    let service: String
    private let client: ServiceClient
    private let watcher = Digest.randomToken(bytes: 9)
    /// How long one poll waits for a change.
    private let wait: Duration
    private let state = Mutex(State())

    private struct State {
        var urls: [String] = []
        var version = 0
        var answered = false
        var lastError: String?
        var poller: Task<Void, Never>?
    }

    /// - Parameter client: a client of the supervisor whose timeout exceeds `wait`.
    init(client: ServiceClient, service: String, wait: Duration = .seconds(20)) {
        self.client = client
        self.service = service
        self.wait = wait
    }

    deinit {
        state.withLock { $0.poller?.cancel() }
    }

    func replicas() async -> [String] {
        startPolling()
        // The first call waits briefly for the first answer rather than reporting no replicas.
        let deadline = ContinuousClock.now + .seconds(3)
        while !state.withLock({ $0.answered }), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return state.withLock { $0.urls }
    }

    var description: String {
        state.withLock { state in
            let base = "supervisor \(client.baseURL): \(state.urls.count) healthy replica(s) of \(service) (version \(state.version))"
            return state.lastError.map { "\(base); last error: \($0)" } ?? base
        }
    }

    private func startPolling() {
        state.withLock { state in
            guard state.poller == nil else { return }
            state.poller = Task.detached { [weak self] in
                var since = 0
                while !Task.isCancelled {
                    guard let self else { return }
                    since = await self.poll(since: since)
                }
            }
        }
    }

    /// One long-poll; returns the version to ask after next.
    private func poll(since: Int) async -> Int {
        let problem: String
        do {
            let answer = try await client.json(.GET, SupervisorAPI.endpointsQuery(service, since: since, watcher: watcher, wait: wait))
            if let endpoints = ReplicaEndpoints(json: answer) {
                state.withLock { state in
                    state.urls = endpoints.endpoints.map(\.url)
                    state.version = endpoints.version
                    state.answered = true
                    state.lastError = nil
                }
                return endpoints.version
            }
            problem = "\(client.baseURL): not an endpoints answer"
        } catch {
            problem = error.description
        }
        state.withLock { state in
            state.lastError = problem
            state.answered = true
        }
        try? await Task.sleep(for: .seconds(1))
        return since
    }
}
