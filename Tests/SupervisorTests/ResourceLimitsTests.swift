import Foundation
import SwitchboardCore
import Testing

@testable import Supervisor

/// The engine's conversions from `deploy.resources` to cgroup values, and its refusals.
struct ResourceLimitsTests {
    private func limits(_ yaml: String, cpus: Int = 4) throws -> ResourceLimits {
        let project = try ComposeLoader.parse("services:\n  a:\n    image: x\n" + yaml, variables: [:])
        return try ResourceLimits(project["a"]!.resources, cpuCount: cpus, service: "a")
    }

    private func writes(_ limits: ResourceLimits, _ version: CgroupVersion) -> [String] {
        [CgroupController.cpu, .memory, .pids].flatMap { limits.writes(for: $0, version: version).map { "\($0.file)=\($0.value)" } }
    }

    @Test func cpusMemoryReservationAndPidsBecomeTheEnginesCgroupValues() throws {
        let resources = try limits("""
                deploy:
                  resources:
                    limits: {cpus: '0.5', memory: 512M, pids: 100}
                    reservations: {cpus: '0.25', memory: 64M}
            """)
        #expect(resources.cpuQuota == 50_000)
        #expect(resources.memory == 536_870_912)
        #expect(resources.memorySwap == 1_073_741_824)
        #expect(writes(resources, .v2) == ["cpu.max=50000 100000", "memory.max=536870912", "memory.swap.max=536870912", "memory.low=67108864", "pids.max=100"])
        #expect(writes(resources, .v1) == [
            "cpu.cfs_period_us=100000", "cpu.cfs_quota_us=50000", "memory.limit_in_bytes=536870912",
            "memory.memsw.limit_in_bytes=1073741824", "memory.soft_limit_in_bytes=67108864", "pids.max=100",
        ])
        #expect(resources.reservedNanoCPUs == 250_000_000)
    }

    @Test(arguments: [("1.5", 150_000), ("0.01", 1000), ("2", 200_000), ("0.123456789", 12345)])
    func cpusAreExactNanoCPUs(text: String, quota: Int64) throws {
        #expect(try limits("    deploy: {resources: {limits: {cpus: '\(text)'}}}\n").cpuQuota == quota)
    }

    @Test func memswapLimitSetsSwapAsTheEngineDoes() throws {
        let equal = try limits("    memswap_limit: 256M\n    deploy: {resources: {limits: {memory: 256M}}}\n")
        #expect(writes(equal, .v2) == ["memory.max=268435456", "memory.swap.max=0"])
        let unlimited = try limits("    memswap_limit: -1\n    deploy: {resources: {limits: {memory: 256M}}}\n")
        #expect(writes(unlimited, .v2) == ["memory.max=268435456", "memory.swap.max=max"])
        #expect(writes(unlimited, .v1) == ["memory.limit_in_bytes=268435456", "memory.memsw.limit_in_bytes=-1"])
        let unlimitedPids = try limits("    deploy: {resources: {limits: {pids: 0}}}\n")
        #expect(writes(unlimitedPids, .v2) == ["pids.max=max"])
    }

    @Test(arguments: [
        ("    deploy: {resources: {limits: {cpus: '3'}}}\n", "range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"),
        ("    deploy: {resources: {limits: {cpus: '0.001'}}}\n", "range of CPUs is from 0.01 to 2.00"),
        ("    deploy: {resources: {limits: {memory: 4M}}}\n", "services.a.deploy.resources.limits.memory: minimum memory limit allowed is 6MB"),
        ("    deploy: {resources: {limits: {memory: 64M}, reservations: {memory: 128M}}}\n", "can not be less than memory reservation limit"),
        ("    memswap_limit: 32M\n    deploy: {resources: {limits: {memory: 64M}}}\n", "minimum memoryswap limit should be larger than memory limit"),
        ("    memswap_limit: 32M\n", "always set the memory limit when using a memoryswap limit"),
    ])
    func theEnginesRefusalsAreKept(yaml: String, message: String) {
        #expect {
            try limits(yaml, cpus: 2)
        } throws: { error in
            "\(error)".contains(message)
        }
    }

    @Test func tooPreciseCPUsAreRefusedAtLoad() {
        #expect {
            try ComposeLoader.parse("services:\n  a:\n    deploy: {resources: {limits: {cpus: '0.0000000001'}}}\n", variables: [:])
        } throws: { error in
            "\(error)" == "services.a.deploy.resources.limits.cpus: '0.0000000001': value is too precise (at most nine decimals)"
        }
    }
}
