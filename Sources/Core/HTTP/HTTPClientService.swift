import AsyncHTTPClient
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Owns the process's pooled HTTP client and shuts it down when the service group stops.
/// Add it first to the application's services so that it stops last.
public struct HTTPClientService: Service {
    public let client: HTTPClient

    /// - Parameter connectionsPerHost: how many keep-alive connections one upstream may get.
    public init(connectionsPerHost: Int = 64) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connectionsPerHost)
        configuration.timeout = .init(connect: .seconds(2), read: nil)
        configuration.redirectConfiguration = .disallow
        client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
    }

    public func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}
