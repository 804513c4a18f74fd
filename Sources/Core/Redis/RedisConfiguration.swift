import Foundation

/// Where a Redis server is and how to talk to it.
///
/// Built from a URL:
/// - `redis://[[user]:password@]host[:port][/database]` (port 6379, database 0 by default; IPv6 as `[::1]`);
/// - `unix://[[user]:password@]/path/to/redis.sock[?db=N]`.
/// A password alone sends `AUTH password`; a user and a password send `AUTH user password` (Redis 6 ACLs).
/// `rediss://` (TLS) is refused: hiredis 0.14 has no TLS support.
public struct RedisConfiguration: Sendable, Equatable {
    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    public var endpoint: Endpoint
    public var username: String?
    public var password: String?
    public var database = 0
    /// Longest a connection attempt may take.
    public var connectTimeout: Duration = .milliseconds(500)
    /// Longest a command (or a pipeline) may wait for its replies before the connection is dropped.
    public var commandTimeout: Duration = .milliseconds(500)
    /// Number of connections, each with its own serial executor.
    public var poolSize = 4
    /// First wait after a failed connection attempt; doubles per failure up to `maximumBackoff`, ±25 % jitter.
    public var initialBackoff: Duration = .milliseconds(100)
    public var maximumBackoff: Duration = .seconds(5)

    public init(endpoint: Endpoint, username: String? = nil, password: String? = nil, database: Int = 0) {
        self.endpoint = endpoint
        self.username = username
        self.password = password
        self.database = database
    }

    /// Parses a `redis://` or `unix://` URL; the error says which part is wrong.
    public init(url: String) throws(RedisError) {
        func invalid(_ reason: String) -> RedisError {
            RedisError(.configuration, "invalid Redis URL '\(RedisConfiguration.redact(url))': \(reason)")
        }
        guard let schemeEnd = url.range(of: "://") else {
            throw invalid("expected redis://host:port/db or unix:///path/to/socket")
        }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        var rest = Substring(url[schemeEnd.upperBound...])
        var query: [(String, String)] = []
        if let mark = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: mark)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                query.append((parts[0], parts.count > 1 ? parts[1] : ""))
            }
            rest = rest[..<mark]
        }
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = Self.percentDecoded(credentials[..<colon])
                username = user.isEmpty ? nil : user
                password = Self.percentDecoded(credentials[credentials.index(after: colon)...])
            } else {
                // `redis://secret@host` is the common password-only form.
                password = Self.percentDecoded(credentials)
            }
        }
        var database = 0
        switch scheme {
        case "redis":
            var hostPart = rest
            if let slash = rest.firstIndex(of: "/") {
                hostPart = rest[..<slash]
                let path = rest[rest.index(after: slash)...]
                if !path.isEmpty {
                    guard let number = Int(path), number >= 0 else { throw invalid("database '\(path)' is not a non-negative integer") }
                    database = number
                }
            }
            let authority: Authority
            do {
                authority = try Authority(hostPart)
            } catch {
                throw invalid(error.message)
            }
            let (host, port) = (authority.host ?? "127.0.0.1", authority.port ?? 6379)
            self.init(endpoint: .tcp(host: host, port: port), username: username, password: password, database: database)
        case "unix":
            guard rest.hasPrefix("/"), rest.count > 1 else { throw invalid("expected an absolute socket path, as in unix:///run/redis.sock") }
            self.init(endpoint: .unix(path: String(rest)), username: username, password: password, database: database)
        case "rediss":
            throw invalid("TLS (rediss://) is not supported by hiredis 0.14; use a unix socket or a TLS tunnel")
        default:
            throw invalid("unsupported scheme '\(scheme)'; use redis:// or unix://")
        }
        for (name, value) in query {
            switch name {
            case "db":
                guard let number = Int(value), number >= 0 else { throw invalid("db '\(value)' is not a non-negative integer") }
                self.database = number
            default:
                throw invalid("unknown parameter '\(name)' (only db is accepted)")
            }
        }
    }

    /// The endpoint for logs and `/ready`, without credentials.
    public var displayName: String {
        switch endpoint {
        case .tcp(let host, let port):
            let shownHost = host.contains(":") ? "[\(host)]" : host
            return "redis://\(shownHost):\(port)/\(database)"
        case .unix(let path):
            return "unix://\(path)" + (database == 0 ? "" : "?db=\(database)")
        }
    }

    /// A URL with its password replaced by `***`, for error messages.
    static func redact(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://"), let at = url[schemeEnd.upperBound...].lastIndex(of: "@") else { return url }
        let credentials = url[schemeEnd.upperBound..<at]
        let user = credentials.firstIndex(of: ":").map { credentials[..<$0] + ":" } ?? ""
        return url[..<schemeEnd.upperBound] + user + "***" + url[at...]
    }

    private static func percentDecoded(_ text: Substring) -> String {
        let input = Array(text.utf8)
        var bytes: [UInt8] = []
        var index = 0
        while index < input.count {
            if input[index] == UInt8(ascii: "%"), index + 2 < input.count,
                let value = UInt8(String(decoding: input[index + 1...index + 2], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                index += 3
            } else {
                bytes.append(input[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
