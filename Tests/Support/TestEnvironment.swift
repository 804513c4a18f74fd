import Foundation
import Logging
import SwitchboardCore

/// Builds service environments and finds what tests need on this machine.
public enum TestEnvironment {
    public static let secret = "test-service-secret"

    /// A service environment with the given keys' defaults, the test secret and `overrides`.
    public static func make(service: String, keys: [ConfigKey], _ overrides: [String: String] = [:]) throws -> ServiceEnvironment {
        var environment = ["SWITCHBOARD_SERVICE_SECRET": secret]
        environment.merge(overrides) { _, new in new }
        let configuration = try ServiceConfiguration(keys: keys, environment: environment, arguments: [])
        var logger = Logger(label: service)
        logger.logLevel = .warning
        return ServiceEnvironment(service: service, configuration: configuration, logger: logger)
    }

    /// The package's root directory.
    public static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Where `swift build` put the executables this test run uses.
    public static var binDirectory: URL {
        if let explicit = ProcessInfo.processInfo.environment["SWITCHBOARD_BIN"] { return URL(fileURLWithPath: explicit) }
        // The test bundle lives next to the products: .build/<triple>/debug/SwitchboardPackageTests.xctest
        let bundle = URL(fileURLWithPath: CommandLine.arguments.first(where: { $0.contains(".xctest") }) ?? Bundle.main.bundlePath)
        var directory = bundle
        while directory.path != "/" {
            directory.deleteLastPathComponent()
            if FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("switchboard").path) { return directory }
        }
        return packageRoot.appendingPathComponent(".build/debug")
    }

    /// The Python with the pinned MCP clients (`make test` creates it).
    public static var python: String? {
        let candidates: [String?] = [ProcessInfo.processInfo.environment["SWITCHBOARD_TEST_PYTHON"], packageRoot.appendingPathComponent(".venv/bin/python").path]
        return candidates.compactMap { $0 }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// A base port such that `base ..< base + count` are all free right now.
    public static func freePorts(_ count: Int) -> Int {
        while true {
            let base = Int.random(in: 20_000...55_000)
            if (base..<base + count).allSatisfy(isFree) { return base }
        }
    }

    public static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// A fresh temporary directory.
    public static func temporaryDirectory(_ name: String = "switchboard-test") -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
