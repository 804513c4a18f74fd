import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import UnixSignals

/// What a service's `buildApplication` receives: its validated configuration and the shared parts.
public struct ServiceEnvironment: Sendable {
    public let configuration: ServiceConfiguration
    public let identity: ServiceIdentity
    public let metrics: ServiceMetrics
    public let logger: Logger
    /// The process's pooled HTTP client; its `Service` belongs in the application's services.
    public let http: HTTPClientService

    public init(service: String, configuration: ServiceConfiguration, logger: Logger? = nil) {
        self.configuration = configuration
        identity = ServiceIdentity(service: service, replica: configuration.int(.replica))
        metrics = ServiceMetrics(service: service, version: identity.version, replica: identity.replica)
        self.logger = logger ?? Logger(label: service)
        http = HTTPClientService()
    }

    public var secret: String { configuration.string(.serviceSecret) }

    /// A client for another service's `/v1` API.
    public func client(for baseURL: String, timeout: Duration = .seconds(30)) -> ServiceClient {
        ServiceClient(baseURL: baseURL, http: http, secret: secret, timeout: timeout)
    }

    /// The router every service starts from: request ids, request metrics, `/health`, `/ready`, `/metrics`.
    public func makeRouter(checks: [any ReadinessCheck]) -> Router<ServiceRequestContext> {
        let router = Router(context: ServiceRequestContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
        router.addRoutes(HealthController(identity: identity, metrics: metrics, checks: checks).endpoints)
        return router
    }

    /// A route group under `/v1` that only callers holding the service secret may use.
    public func internalAPI(on router: Router<ServiceRequestContext>) -> RouterGroup<ServiceRequestContext> {
        router.group("v1").add(middleware: ServiceAuthMiddleware(secret: secret))
    }

    /// The Hummingbird application for `router` on the configured address.
    public func makeApplication(
        router: Router<ServiceRequestContext>, services: [any Service] = [], onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: router,
            configuration: .init(address: .hostname(configuration.string(.host), port: configuration.port), serverName: nil),
            services: [http] + services,
            onServerRunning: onServerRunning,
            logger: logger
        )
    }
}

/// The common `main` of every service binary:
/// - `Service healthcheck [options]` probes the service's own `/health` and exits 0 or 1;
/// - `Service --help` lists every configuration key;
/// - otherwise configuration is validated (a bad value exits 2 naming the key), JSON logging starts and
///   the application runs until SIGTERM/SIGINT, draining in-flight requests for `SWITCHBOARD_SHUTDOWN_GRACE`.
public enum ServiceRunner {
    /// `build` returns the service to run: normally the Hummingbird application, or another
    /// `Service` for a process that serves on something other than HTTP (the gateway's stdio mode).
    public static func main<App: Service>(
        service: String, keys: [ConfigKey], build: @Sendable (ServiceEnvironment) async throws -> App
    ) async -> Never {
        let program = (CommandLine.arguments.first ?? service).split(separator: "/").last.map(String.init) ?? service
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.contains("--help") || arguments.contains("-h") {
            print(ServiceConfiguration.usage(program: program, keys: keys))
            exit(0)
        }
        let isHealthcheck = arguments.first == "healthcheck"
        let configuration: ServiceConfiguration
        do {
            configuration = try ServiceConfiguration(
                keys: keys, environment: ProcessInfo.processInfo.environment, arguments: isHealthcheck ? Array(arguments.dropFirst()) : arguments
            )
        } catch {
            StandardStream.error.write("\(program): \(error.description)\n")
            exit(2)
        }
        if isHealthcheck {
            exit(await healthcheck(configuration) ? 0 : 1)
        }
        let level = Logger.Level(rawValue: configuration.string(.logLevel)) ?? .info
        JSONLogHandler.bootstrap(service: service, level: level)
        var logger = Logger(label: service)
        logger.logLevel = level
        let environment = ServiceEnvironment(service: service, configuration: configuration, logger: logger)
        let address = "\(configuration.string(.host)):\(configuration.port)"
        do {
            let app = try await build(environment)
            // A service that returns on its own (stdio at end of input) ends the process normally.
            var groupConfiguration = ServiceGroupConfiguration(
                services: [.init(service: app, successTerminationBehavior: .gracefullyShutdownGroup)], gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
            groupConfiguration.maximumGracefulShutdownDuration = configuration.duration(.shutdownGrace)
            groupConfiguration.maximumCancellationDuration = .seconds(5)
            logger.info("starting", metadata: ["address": .string(address), "version": .string(environment.identity.version)])
            try await ServiceGroup(configuration: groupConfiguration).run()
            logger.info("stopped")
            exit(0)
        } catch {
            let message = describe(error, address: address)
            logger.critical("\(message)")
            StandardStream.error.write("\(program): \(message)\n")
            exit(1)
        }
    }

    /// One line for a start-up failure.
    static func describe(_ error: any Error, address: String) -> String {
        if let io = error as? IOError {
            switch io.errnoCode {
            case EADDRINUSE: return "cannot listen on \(address): address already in use"
            case EACCES: return "cannot listen on \(address): permission denied"
            case EADDRNOTAVAIL: return "cannot listen on \(address): address not available on this host"
            default: return "cannot listen on \(address): \(io)"
            }
        }
        if let error = error as? ConfigurationError { return error.description }
        return "\(error)"
    }

    /// GET http://<host>:<port>/health with a 3 s timeout.
    static func healthcheck(_ configuration: ServiceConfiguration) async -> Bool {
        var host = configuration.string(.host)
        if host == "0.0.0.0" || host == "::" { host = "127.0.0.1" }
        let url = "http://\(host):\(configuration.port)/health"
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        var ok = false
        do {
            let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(3))
            ok = response.status == .ok
            if !ok { StandardStream.error.write("unhealthy: \(url) answered \(response.status.code)\n") }
        } catch {
            StandardStream.error.write("unhealthy: \(url): \(error)\n")
        }
        try? await client.shutdown()
        return ok
    }
}
