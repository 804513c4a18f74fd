import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// Runs an application on a real port for the duration of a test body.
public enum LiveService {
    public static func with<App: ApplicationProtocol, Value: Sendable>(
        _ app: App, port: Int, _ body: @Sendable () async throws -> Value
    ) async throws -> Value {
        let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "live")))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            defer { tasks.cancelAll() }
            try await waitForListener(port: port)
            do {
                let value = try await body()
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return value
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
        }
    }

    /// Waits until something accepts TCP connections on 127.0.0.1:`port`.
    public static func waitForListener(port: Int, timeout: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if canConnect(port: port) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw LiveServiceError(message: "nothing listening on port \(port) after \(timeout)")
    }

    public static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

public struct LiveServiceError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
    public init(message: String) { self.message = message }
}
