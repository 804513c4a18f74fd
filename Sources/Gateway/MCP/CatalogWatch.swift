import Logging
import ServiceLifecycle
import Synchronization
import SwitchboardCore

/// Tells open event streams when the tool catalogue changed (`notifications/tools/list_changed`) and
/// sends them a keepalive ping every 15 s. It reads the catalogue only while a stream is open.
final class CatalogWatch: Service, Sendable {
    enum Event: Sendable {
        case toolsChanged
        case ping
        /// A newer stream of the same session replaced this one (each message goes to one stream only).
        case replaced
    }

    private struct Subscriber: Sendable {
        let key: String?
        let deliver: @Sendable (Event) -> Void
    }

    private let backends: ToolBackends
    private let interval: Duration
    private let state = Mutex<State>(State())

    private struct State {
        var next: UInt64 = 0
        var subscribers: [UInt64: Subscriber] = [:]
        /// The revision open streams last heard of; nil while none is open.
        var announced: String?
    }

    /// - Parameter interval: how often the catalogue is read while streams are open.
    init(backends: ToolBackends, interval: Duration) {
        self.backends = backends
        self.interval = interval
    }

    /// Registers a stream. A stream with a `key` (a session) replaces an older one with the same key.
    func subscribe(key: String?, deliver: @escaping @Sendable (Event) -> Void) -> UInt64 {
        let known = backends.revision
        let (token, replaced) = state.withLock { state -> (UInt64, [Subscriber]) in
            var replaced: [Subscriber] = []
            if let key {
                for (token, subscriber) in state.subscribers where subscriber.key == key {
                    replaced.append(subscriber)
                    state.subscribers[token] = nil
                }
            }
            if state.announced == nil, !known.isEmpty { state.announced = known }
            state.next += 1
            state.subscribers[state.next] = Subscriber(key: key, deliver: deliver)
            return (state.next, replaced)
        }
        for subscriber in replaced { subscriber.deliver(.replaced) }
        return token
    }

    func unsubscribe(_ token: UInt64) {
        state.withLock { state in
            state.subscribers[token] = nil
            if state.subscribers.isEmpty { state.announced = nil }
        }
    }

    var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var lastPing = ContinuousClock.now
            while !Task.isCancelled {
                try? await Task.sleep(for: self.interval)
                guard self.subscriberCount > 0 else { continue }
                _ = try? await self.backends.tools(forceRefresh: true)
                let revision = self.backends.revision
                let changed = self.state.withLock { state -> Bool in
                    defer { if !revision.isEmpty { state.announced = revision } }
                    guard let previous = state.announced, !revision.isEmpty else { return false }
                    return previous != revision
                }
                if changed { self.broadcast(.toolsChanged) }
                if ContinuousClock.now - lastPing >= SSE.keepalive {
                    self.broadcast(.ping)
                    lastPing = .now
                }
            }
        }
    }

    func broadcast(_ event: Event) {
        let all = state.withLock { Array($0.subscribers.values) }
        for subscriber in all { subscriber.deliver(event) }
    }
}
