import Hummingbird
import Synchronization

/// Notices that the client of one HTTP request went away while the request is still being served,
/// so that the work done for it can be cancelled.
///
/// Watching the connection means reading its inbound side, which ends keep-alive for that
/// connection; so the watch starts only after `grace`: quick requests keep their connection and
/// cost no task and no timer of their own (one shared ``GraceClock`` starts the watches that outlive
/// their grace), slow ones are watched. ``stop()`` must be awaited before the response is complete
/// (the connection's reader must not run twice at once); when it says the connection was read, the
/// response should carry `Connection: close`, for the server closes that connection after it.
public final class DisconnectWatch: Sendable {
    private let request: Request
    private let onDisconnect: @Sendable () -> Void
    private let phase: Mutex<Phase>

    private enum Phase {
        case waiting
        case watching(Task<Void, Never>)
        case stopped
    }

    /// - Parameters:
    ///   - request: the request being served; its body must already be collected with `collectBody`
    ///     (or never have been read).
    ///   - grace: how long the request runs unwatched; the watch starts up to ``GraceClock/tick`` later.
    ///   - onDisconnect: called once when the client closed the connection before ``stop()``.
    public init(request: Request, grace: Duration = .seconds(1), onDisconnect: @escaping @Sendable () -> Void) {
        self.request = request
        self.onDisconnect = onDisconnect
        phase = Mutex(.waiting)
        if grace <= .zero {
            startWatching()
        } else {
            GraceClock.shared.add(self, due: .now + grace)
        }
    }

    /// Starts reading the connection, unless the watch was stopped meanwhile.
    func startWatching() {
        let (request, onDisconnect) = (self.request, self.onDisconnect)
        phase.withLock { phase in
            guard case .waiting = phase else { return }
            phase = .watching(
                Task {
                    do {
                        try await request.body.consumeWithCancellationOnInboundClose { _ in
                            while true { try await Task.sleep(for: .seconds(3600)) }
                        }
                    } catch {
                        // Cancellation from `stop()` is ours; any other ending means the client hung up.
                        if !Task.isCancelled { onDisconnect() }
                    }
                }
            )
        }
    }

    /// Ends the watch and waits until it no longer reads from the connection; true when it did read
    /// (the connection then closes after this response).
    @discardableResult
    public func stop() async -> Bool {
        let previous = phase.withLock { phase in
            defer { phase = .stopped }
            return phase
        }
        switch previous {
        case .waiting:
            GraceClock.shared.remove(self)
            return false
        case .watching(let task):
            task.cancel()
            await task.value
            return true
        case .stopped:
            return false
        }
    }

    /// `Connection: close` when the watch read from the connection, else nothing.
    public static func connectionHeaders(closing: Bool) -> HTTPFields {
        closing ? [.connection: "close"] : [:]
    }
}

/// The one timer behind every ``DisconnectWatch`` still in its grace period: it ticks only while some
/// are waiting, and starts the watches whose grace is over.
final class GraceClock: Sendable {
    static let shared = GraceClock()
    /// How often waiting watches are looked at.
    static let tick: Duration = .milliseconds(100)

    private struct State {
        var waiting: [ObjectIdentifier: (watch: DisconnectWatch, due: ContinuousClock.Instant)] = [:]
        var ticking = false
    }

    private let state = Mutex(State())

    func add(_ watch: DisconnectWatch, due: ContinuousClock.Instant) {
        let start = state.withLock { state -> Bool in
            state.waiting[ObjectIdentifier(watch)] = (watch, due)
            defer { state.ticking = true }
            return !state.ticking
        }
        if start { Task { await self.run() } }
    }

    func remove(_ watch: DisconnectWatch) {
        state.withLock { _ = $0.waiting.removeValue(forKey: ObjectIdentifier(watch)) }
    }

    private func run() async {
        while true {
            try? await Task.sleep(for: Self.tick)
            let now = ContinuousClock.now
            let due = state.withLock { state -> [DisconnectWatch]? in
                guard !state.waiting.isEmpty else {
                    state.ticking = false
                    return nil
                }
                let due = state.waiting.filter { $0.value.due <= now }
                for key in due.keys { state.waiting.removeValue(forKey: key) }
                return due.values.map(\.watch)
            }
            guard let due else { return }
            for watch in due { watch.startWatching() }
        }
    }
}
