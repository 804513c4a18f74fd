import AsyncHTTPClient
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Owns the process's pooled HTTP client, created on first use, and shuts it down when the service
/// group stops. Add it first to the application's services so that it stops last.
public final class HTTPClientService: Service, Sendable {
    private let connectionsPerHost: Int
    private let created = Mutex<HTTPClient?>(nil)

    /// - Parameter connectionsPerHost: how many keep-alive connections one upstream may get.
    public init(connectionsPerHost: Int = 64) {
        self.connectionsPerHost = connectionsPerHost
    }

    public var client: HTTPClient {
        created.withLock { existing in
            if let existing { return existing }
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connectionsPerHost)
            configuration.timeout = .init(connect: .seconds(2), read: nil)
            configuration.redirectConfiguration = .disallow
            let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
            existing = client
            return client
        }
    }

    public func run() async throws {
        try? await gracefulShutdown()
        if let client = created.withLock({ $0 }) {
            try await client.shutdown()
        }
    }
}
