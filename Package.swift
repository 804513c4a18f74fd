// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// What every service module imports directly.
let serviceDependencies: [Target.Dependency] = [
    "SwitchboardCore",
    .product(name: "Hummingbird", package: "hummingbird"),
    .product(name: "Logging", package: "swift-log"),
    .product(name: "NIOCore", package: "swift-nio"),
    .product(name: "NIOHTTP1", package: "swift-nio"),
    .product(name: "HTTPTypes", package: "swift-http-types"),
    .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
    .product(name: "Prometheus", package: "swift-prometheus"),
    .product(name: "AsyncHTTPClient", package: "async-http-client"),
]

/// What every test target imports.
let testDependencies: [Target.Dependency] = serviceDependencies + [
    "SwitchboardTestSupport",
    .product(name: "HummingbirdTesting", package: "hummingbird"),
]

let package = Package(
    name: "Switchboard",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "switchboard", targets: ["Supervisor"]),
        .executable(name: "Gateway", targets: ["Gateway"]),
        .executable(name: "ToolService", targets: ["ToolService"]),
        .executable(name: "LearnService", targets: ["LearnService"]),
        .executable(name: "MetricsService", targets: ["MetricsService"]),
        .executable(name: "LearnEval", targets: ["LearnEval"]),
        .library(name: "SwitchboardCore", targets: ["SwitchboardCore"]),
        .library(name: "Learning", targets: ["Learning"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .target(name: "CSwitchboard", linkerSettings: [.linkedLibrary("crypto")]),
        /// The learn service's algorithms: no server dependencies, so evaluation and benchmarks build and run fast.
        .target(name: "Learning", swiftSettings: swiftSettings),
        .target(
            name: "SwitchboardCore",
            dependencies: [
                "CSwitchboard",
                "CHiredis",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Sources/Core",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "Gateway", dependencies: serviceDependencies + ["Learning", .product(name: "NIOPosix", package: "swift-nio")], swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "ToolService",
            dependencies: serviceDependencies + [.product(name: "UnixSignals", package: "swift-service-lifecycle")],
            swiftSettings: swiftSettings
        ),
        .target(name: "BenchSupport", path: "Benchmarks/BenchSupport", swiftSettings: swiftSettings),
        .executableTarget(
            name: "ToolBench",
            dependencies: [
                "BenchSupport",
                "SwitchboardCore", .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Benchmarks/ToolBench",
            swiftSettings: swiftSettings
        ),
        /// A minimal two-process HTTP chain (SwiftNIO only), measured next to the gateway by `make bench`.
        .executableTarget(
            name: "HTTPFloor",
            dependencies: [.product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio")],
            path: "Benchmarks/HTTPFloor",
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "LearnService", dependencies: serviceDependencies + ["Learning", "CLibPQ"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "LearnEval",
            dependencies: [
                "Learning",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "MetricsService", dependencies: serviceDependencies + [.product(name: "Yams", package: "Yams")], path: "Sources/Metrics",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "Supervisor",
            dependencies: serviceDependencies + [
                .product(name: "Yams", package: "Yams"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "RedisBench",
            dependencies: [
                "BenchSupport",
                "SwitchboardCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Benchmarks/RedisBench",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "LearnBench",
            dependencies: [
                "BenchSupport",
                "Learning", "SwitchboardCore", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Benchmarks/LearnBench",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SwitchboardTestSupport",
            dependencies: serviceDependencies + [.product(name: "HummingbirdTesting", package: "hummingbird")],
            path: "Tests/Support",
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "CoreTests", dependencies: testDependencies + ["CHiredis"], swiftSettings: swiftSettings),
        .testTarget(name: "GatewayTests", dependencies: testDependencies + ["Gateway", "ToolService", "LearnService"], swiftSettings: swiftSettings),
        .testTarget(name: "ToolServiceTests", dependencies: testDependencies + ["ToolService"], swiftSettings: swiftSettings),
        .testTarget(name: "LearnServiceTests", dependencies: testDependencies + ["LearnService", "Learning"], swiftSettings: swiftSettings),
        .testTarget(name: "LearningTests", dependencies: ["Learning"], swiftSettings: swiftSettings),
        .testTarget(name: "MetricsServiceTests", dependencies: testDependencies + ["MetricsService"], swiftSettings: swiftSettings),
        .testTarget(name: "SupervisorTests", dependencies: testDependencies + ["Supervisor"], swiftSettings: swiftSettings),
        .testTarget(name: "EndToEndTests", dependencies: testDependencies, swiftSettings: swiftSettings),
    ]
)
