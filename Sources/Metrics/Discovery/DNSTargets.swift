import Foundation
import NIOPosix
import SwitchboardCore

/// DNS discovery: under Swarm `tasks.<service>` resolves to one address per running task, under
/// `docker compose` the service name itself resolves to every replica. Entries are `name:port`
/// (`SWITCHBOARD_SCRAPE_DNS`); the `service` label is the name without a `tasks.` prefix.
struct DNSTargets: TargetDiscovery {
    struct Entry: Sendable {
        let name: String
        let port: Int
        var service: String { name.hasPrefix("tasks.") ? String(name.dropFirst(6)) : name }
    }

    let entries: [Entry]
    var source: String { "DNS \(entries.map(\.name).joined(separator: ", "))" }

    init(entries: [String]) throws(ConfigurationError) {
        self.entries = try entries.map { entry throws(ConfigurationError) -> Entry in
            let parts = entry.split(separator: ":").map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, let port = Int(parts[1]), (1...65535).contains(port) else {
                throw ConfigurationError(description: "invalid entry '\(entry)' in SWITCHBOARD_SCRAPE_DNS: expected name:port")
            }
            return Entry(name: parts[0], port: port)
        }
    }

    func targets() async throws -> [ScrapeTarget] {
        var targets: [ScrapeTarget] = []
        for entry in entries {
            // getaddrinfo blocks: run it on NIO's blocking pool, never on the cooperative pool.
            let addresses = try await NIOThreadPool.singleton.runIfActive { DNSTargets.resolve(entry.name) }
            for (index, address) in addresses.enumerated() {
                targets.append(ScrapeTarget(service: entry.service, replica: index + 1, address: "\(address):\(entry.port)", health: "none"))
            }
        }
        return targets
    }

    /// IPv4 addresses of a name, sorted so that replica numbers are stable between lookups.
    static func resolve(_ name: String) -> [String] {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &result) == 0, let first = result else { return [] }
        defer { freeaddrinfo(first) }
        var addresses: Set<String> = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            if let address = info.pointee.ai_addr {
                var buffer = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
                address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                    var inAddress = pointer.pointee.sin_addr
                    _ = inet_ntop(AF_INET, &inAddress, &buffer, socklen_t(INET_ADDRSTRLEN))
                }
                addresses.insert(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            cursor = info.pointee.ai_next
        }
        return addresses.sorted()
    }
}
