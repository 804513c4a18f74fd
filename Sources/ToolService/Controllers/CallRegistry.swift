import Synchronization

/// Calls in progress by `X-Switchboard-Call-ID`, so that `POST /v1/calls/{id}/cancel` can cancel them.
final class CallRegistry: Sendable {
    private let calls = Mutex<[String: (token: Int, cancel: @Sendable () -> Void)]>([:])
    private let counter = Atomic<Int>(0)

    /// Registers a running call; returns a token for ``remove(_:token:)``. A second call with the same id
    /// replaces the first in the registry (the first still runs to its end).
    func register(_ id: String, cancel: @escaping @Sendable () -> Void) -> Int {
        let token = counter.add(1, ordering: .relaxed).newValue
        calls.withLock { $0[id] = (token, cancel) }
        return token
    }

    func remove(_ id: String, token: Int) {
        calls.withLock { table in
            if table[id]?.token == token { table[id] = nil }
        }
    }

    /// Cancels the call; false when no call with that id is running.
    func cancel(_ id: String) -> Bool {
        guard let entry = calls.withLock({ $0[id] }) else { return false }
        entry.cancel()
        return true
    }
}
