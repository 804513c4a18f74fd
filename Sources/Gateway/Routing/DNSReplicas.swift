import Foundation
import Synchronization
import SwitchboardCore

/// The tool-service replicas as Docker Swarm's DNS lists them: `tasks.<service>` resolves to one address
/// per running task (with a healthcheck, a Swarm task runs only once it is healthy). Resolved again at
/// most every `refresh`; a failed lookup keeps the last list.
final class DNSReplicas: ReplicaSource {
    let host: String
    let port: Int
    let scheme: String
    private let refresh: Duration
    private let state = Mutex<(urls: [String], resolvedAt: ContinuousClock.Instant?, error: String?)>(([], nil, nil))

    init(host: String, port: Int, scheme: String = "http", refresh: Duration = .seconds(2)) {
        self.host = host
        self.port = port
        self.scheme = scheme
        self.refresh = refresh
    }

    func replicas() async -> [String] {
        if let fresh = state.withLock({ state -> [String]? in
            guard let at = state.resolvedAt, ContinuousClock.now - at < refresh else { return nil }
            return state.urls
        }) {
            return fresh
        }
        let host = self.host
        let result = await withCheckedContinuation { continuation in
            // getaddrinfo blocks: it runs on a thread of its own, not on the cooperative pool.
            Thread.detachNewThread { continuation.resume(returning: DNSReplicas.resolve(host)) }
        }
        return state.withLock { state in
            state.resolvedAt = .now
            switch result {
            case .success(let addresses):
                state.urls = addresses.map { "\(scheme)://\($0.contains(":") ? "[\($0)]" : $0):\(port)" }
                state.error = nil
            case .failure(let error):
                state.error = error.message
            }
            return state.urls
        }
    }

    var description: String {
        state.withLock { state in
            "DNS \(host): \(state.urls.count) replica(s)\(state.error.map { "; last lookup failed: \($0)" } ?? "")"
        }
    }

    /// Every address of `host`, sorted and without duplicates.
    static func resolve(_ host: String) -> Result<[String], ServiceError> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let code = getaddrinfo(host, nil, &hints, &list)
        guard code == 0, let first = list else {
            return .failure(ServiceError(.unavailable, "cannot resolve \(host): \(String(cString: gai_strerror(code)))"))
        }
        defer { freeaddrinfo(first) }
        var addresses: Set<String> = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(entry.pointee.ai_addr, entry.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                addresses.insert(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            cursor = entry.pointee.ai_next
        }
        return .success(addresses.sorted())
    }
}
