import Foundation
import SwitchboardCore

/// A service's `deploy.resources` as the Docker engine turns them into cgroup settings
/// (moby `daemon_unix.go`, opencontainers/cgroups `fs` and `fs2`), with the engine's validation.
struct ResourceLimits: Sendable, Equatable {
    /// The CFS period the engine always uses: 100 ms.
    static let cpuPeriod: Int64 = 100_000
    /// "Minimum memory limit allowed is 6MB".
    static let minimumMemory: Int64 = 6 * 1024 * 1024

    /// CFS quota in µs per period: NanoCPUs × 100000 / 10⁹.
    var cpuQuota: Int64?
    /// `memory.max` / `memory.limit_in_bytes`.
    var memory: Int64?
    /// Docker's MemorySwap (memory plus swap): 2 × memory unless `memswap_limit` says otherwise; -1 = unlimited.
    var memorySwap: Int64?
    /// `memory.low` / `memory.soft_limit_in_bytes`.
    var memoryReservation: Int64?
    /// `pids.max`; -1 = "max".
    var pids: Int64?
    /// `reservations.cpus`: Swarm's scheduler uses it, the engine sets no cgroup value.
    var reservedNanoCPUs: Int64?

    var isEmpty: Bool { cpuQuota == nil && memory == nil && memoryReservation == nil && pids == nil && reservedNanoCPUs == nil }
    var cpuCores: Double? { cpuQuota.map { Double($0) / Double(Self.cpuPeriod) } }

    /// The engine's conversion and checks; `cpuCount` is the CPUs this machine offers.
    init(_ resources: ComposeService.Resources, cpuCount: Int, service: String) throws(StackError) {
        let path = "services.\(service).deploy.resources"
        if let nano = resources.nanoCPUs {
            guard nano >= 10_000_000, nano <= Int64(cpuCount) * 1_000_000_000 else {
                throw StackError("\(path).limits.cpus: range of CPUs is from 0.01 to \(cpuCount).00, as there are only \(cpuCount) CPUs available (the Docker engine refuses this too)")
            }
            cpuQuota = nano * Self.cpuPeriod / 1_000_000_000
        }
        if let memory = resources.memory {
            guard memory >= Self.minimumMemory else { throw StackError("\(path).limits.memory: minimum memory limit allowed is 6MB") }
            self.memory = memory
            if let swap = resources.memorySwap {
                guard swap == -1 || swap >= memory else {
                    throw StackError("services.\(service).memswap_limit: minimum memoryswap limit should be larger than memory limit")
                }
                memorySwap = swap
            } else {
                memorySwap = memory * 2
            }
        } else if resources.memorySwap != nil {
            throw StackError("services.\(service).memswap_limit: you should always set the memory limit when using a memoryswap limit")
        }
        if let reservation = resources.reservedMemory {
            guard reservation >= Self.minimumMemory else { throw StackError("\(path).reservations.memory: minimum memory reservation allowed is 6MB") }
            if let memory, memory < reservation {
                throw StackError("\(path).limits.memory: minimum memory limit can not be less than memory reservation limit")
            }
            memoryReservation = reservation
        }
        if let pids = resources.pids { self.pids = pids <= 0 ? -1 : pids }
        reservedNanoCPUs = resources.reservedNanoCPUs
    }

    /// The settings one controller takes, in write order, as `file`/`value` pairs.
    func writes(for controller: CgroupController, version: CgroupVersion) -> [(file: String, value: String, limit: String)] {
        switch (controller, version) {
        case (.cpu, .v2):
            return cpuQuota.map { [("cpu.max", "\($0) \(Self.cpuPeriod)", "cpus")] } ?? []
        case (.cpu, .v1):
            return cpuQuota.map { [("cpu.cfs_period_us", String(Self.cpuPeriod), "cpus"), ("cpu.cfs_quota_us", String($0), "cpus")] } ?? []
        case (.memory, .v2):
            var writes: [(file: String, value: String, limit: String)] = []
            if let memory { writes.append(("memory.max", String(memory), "memory")) }
            if let memory, let memorySwap {
                // ConvertMemorySwapToCgroupV2Value: swap.max = MemorySwap − Memory, "max" for -1.
                writes.append(("memory.swap.max", memorySwap == -1 ? "max" : String(memorySwap - memory), "swap"))
            }
            if let memoryReservation { writes.append(("memory.low", String(memoryReservation), "memory reservation")) }
            return writes
        case (.memory, .v1):
            var writes: [(file: String, value: String, limit: String)] = []
            if let memory { writes.append(("memory.limit_in_bytes", String(memory), "memory")) }
            if let memorySwap { writes.append(("memory.memsw.limit_in_bytes", String(memorySwap), "swap")) }
            if let memoryReservation { writes.append(("memory.soft_limit_in_bytes", String(memoryReservation), "memory reservation")) }
            return writes
        case (.pids, _):
            return pids.map { [("pids.max", $0 < 0 ? "max" : String($0), "pids")] } ?? []
        case (.cpuacct, _):
            return []
        }
    }

    /// The controller each limit needs.
    static func controller(of limit: String) -> CgroupController {
        switch limit {
        case "cpus": return .cpu
        case "pids": return .pids
        default: return .memory
        }
    }

    /// Human values of the limits that are set, by limit name.
    var described: [(limit: String, value: String)] {
        var items: [(limit: String, value: String)] = []
        if let cpuCores { items.append(("cpus", Self.trim(cpuCores))) }
        if let memory { items.append(("memory", Units.formatBytes(memory))) }
        if let memory, let memorySwap { items.append(("swap", memorySwap == -1 ? "unlimited" : Units.formatBytes(memorySwap - memory))) }
        if let memoryReservation { items.append(("memory reservation", Units.formatBytes(memoryReservation))) }
        if let pids { items.append(("pids", pids < 0 ? "unlimited" : String(pids))) }
        return items
    }

    static func trim(_ value: Double) -> String {
        let text = String(format: "%.2f", value)
        var trimmed = Substring(text)
        while trimmed.hasSuffix("0") { trimmed = trimmed.dropLast() }
        if trimmed.hasSuffix(".") { trimmed = trimmed.dropLast() }
        return String(trimmed)
    }
}
