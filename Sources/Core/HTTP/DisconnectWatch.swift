import Hummingbird
import Synchronization

/// Notices that the client of one HTTP request went away while the request is still being served,
/// so that the work done for it can be cancelled.
///
/// Watching the connection means reading its inbound side, which ends keep-alive for that
/// connection; so the watch starts only after `grace`: quick requests keep their connection and
/// pay one sleeping task, slow ones are watched. ``stop()`` must be awaited before the response
/// is complete (the connection's reader must not run twice at once); when it says the connection was
/// read, the response should carry `Connection: close`, for the server closes that connection after it.
public final class DisconnectWatch: Sendable {
    private let task: Task<Void, Never>
    private let state: State

    private final class State: Sendable {
        let watching = Atomic(false)
    }

    /// - Parameters:
    ///   - request: the request being served; its body must already be collected with `collectBody`
    ///     (or never have been read).
    ///   - onDisconnect: called once when the client closed the connection before ``stop()``.
    public init(request: Request, grace: Duration = .seconds(1), onDisconnect: @escaping @Sendable () -> Void) {
        let state = State()
        self.state = state
        task = Task {
            do {
                try await Task.sleep(for: grace)
                state.watching.store(true, ordering: .relaxed)
                try await request.body.consumeWithCancellationOnInboundClose { _ in
                    while true { try await Task.sleep(for: .seconds(3600)) }
                }
            } catch {
                // Cancellation from `stop()` is ours; any other ending means the client hung up.
                if !Task.isCancelled { onDisconnect() }
            }
        }
    }

    /// Ends the watch and waits until it no longer reads from the connection; true when it did read
    /// (the connection then closes after this response).
    @discardableResult
    public func stop() async -> Bool {
        task.cancel()
        await task.value
        return state.watching.load(ordering: .relaxed)
    }

    /// `Connection: close` when the watch read from the connection, else nothing.
    public static func connectionHeaders(closing: Bool) -> HTTPFields {
        closing ? [.connection: "close"] : [:]
    }
}
