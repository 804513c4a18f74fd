import AsyncHTTPClient
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Owns the process's outgoing HTTP connections and shuts them down when the service group stops. Add it
/// first to the application's services so that it stops last.
///
/// Calls answered whole go over ``connections``, whose connections live on the event loop of the call: a call
/// made on a loop (see ``EventLoopExecutor``) goes out and comes back on the thread that made it. Streamed
/// answers use an AsyncHTTPClient, one per event loop for the same reason, created on first use.
public final class HTTPClientService: Service, Sendable {
    private let connectionsPerHost: Int
    private let idleTimeout: TimeAmount
    /// Keep-alive connections per event loop for calls answered whole (``ServiceClient/send(_:_:body:principal:headers:timeout:)``).
    public let connections: ServiceConnectionPool
    private let created = Mutex<Clients>(Clients())

    private struct Clients {
        var group: HTTPClient?
        var perLoop: [ObjectIdentifier: HTTPClient] = [:]
        var all: [HTTPClient] { (group.map { [$0] } ?? []) + Array(perLoop.values) }
    }

    /// - Parameters:
    ///   - connectionsPerHost: how many keep-alive connections one upstream may get (per client).
    ///   - idleTimeout: how long a keep-alive connection may stay unused before it is closed.
    public init(connectionsPerHost: Int = 64, idleTimeout: Duration = .seconds(60)) {
        self.connectionsPerHost = connectionsPerHost
        self.idleTimeout = TimeAmount(idleTimeout)
        connections = ServiceConnectionPool(connectionsPerUpstream: connectionsPerHost, idleTimeout: self.idleTimeout)
    }

    /// The client over the whole event-loop group.
    public var client: HTTPClient {
        created.withLock { clients in
            if let group = clients.group { return group }
            let made = make(on: MultiThreadedEventLoopGroup.singleton)
            clients.group = made
            return made
        }
    }

    /// The client of the event loop the caller runs on, or the group's client off the loops.
    public var clientOnCurrentLoop: HTTPClient {
        guard let loop = MultiThreadedEventLoopGroup.currentEventLoop else { return client }
        return created.withLock { clients in
            if let existing = clients.perLoop[ObjectIdentifier(loop)] { return existing }
            let made = make(on: loop)
            clients.perLoop[ObjectIdentifier(loop)] = made
            return made
        }
    }

    private func make(on group: any EventLoopGroup) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: idleTimeout, concurrentHTTP1ConnectionsPerHostSoftLimit: connectionsPerHost)
        configuration.timeout = .init(connect: .seconds(2), read: nil)
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroup: group, configuration: configuration)
    }

    public func run() async throws {
        try? await gracefulShutdown()
        connections.shutdown()
        for client in created.withLock({ $0.all }) {
            try await client.shutdown()
        }
    }
}

/// Runs Swift concurrency's global executor on NIO's event-loop threads, for services whose requests are
/// all I/O: a handler then resumes on the loop that read its request instead of hopping to the cooperative
/// pool and back, and a call it makes to another service goes out on a connection of that same loop
/// (``ServiceConnectionPool``).
/// It costs one rule, which these services keep anyway: nothing blocks on the cooperative pool (blocking
/// system calls run on dedicated threads).
public enum EventLoopExecutor {
    /// Installs the takeover; call first thing in `main`, once. Returns false where the runtime does not allow it.
    @discardableResult
    public static func takeOver() -> Bool {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }

    /// Waits for work handed to another thread: `start` passes the work its `deliver` callback, which may be called
    /// from any thread; the caller then resumes on the event loop it was on. Resumed from a thread that is not a
    /// loop, a task would otherwise continue on any loop, and its response would then cross back to the loop of
    /// its connection.
    public static func awaitElsewhere<Value: Sendable>(_ start: (_ deliver: @escaping @Sendable (Value) -> Void) -> Void) async -> Value {
        let caller = MultiThreadedEventLoopGroup.currentEventLoop
        return await withCheckedContinuation { continuation in
            start { value in
                if let caller {
                    caller.execute { continuation.resume(returning: value) }
                } else {
                    continuation.resume(returning: value)
                }
            }
        }
    }
}
