import Synchronization

/// Work in progress by the id a caller can name it with (a tool-service call id, an MCP request id),
/// so that a later message can cancel it. Several entries may share an id; cancelling stops them all.
public final class CancellationRegistry: Sendable {
    private struct Entry {
        let token: UInt64
        let cancel: @Sendable () -> Void
    }

    private let entries = Mutex<(next: UInt64, byID: [String: [Entry]])>((0, [:]))

    public init() {}

    /// Registers `cancel` under `id`; returns the token ``remove(_:token:)`` takes.
    public func add(_ id: String, cancel: @escaping @Sendable () -> Void) -> UInt64 {
        entries.withLock { state in
            state.next += 1
            state.byID[id, default: []].append(Entry(token: state.next, cancel: cancel))
            return state.next
        }
    }

    public func remove(_ id: String, token: UInt64) {
        entries.withLock { state in
            state.byID[id]?.removeAll { $0.token == token }
            if state.byID[id]?.isEmpty == true { state.byID[id] = nil }
        }
    }

    /// Cancels everything registered under `id`; false when nothing is.
    @discardableResult
    public func cancel(_ id: String) -> Bool {
        let found = entries.withLock { $0.byID[id] ?? [] }
        for entry in found { entry.cancel() }
        return !found.isEmpty
    }

    /// Cancels everything registered.
    public func cancelAll() {
        let found = entries.withLock { $0.byID.values.flatMap { $0 } }
        for entry in found { entry.cancel() }
    }

    public var count: Int { entries.withLock { $0.byID.values.reduce(0) { $0 + $1.count } } }
}
