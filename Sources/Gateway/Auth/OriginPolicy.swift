import HTTPTypes
import Hummingbird
import SwitchboardCore

/// DNS-rebinding protection for the MCP endpoints: the `Host` a request names must be on
/// `SWITCHBOARD_ALLOWED_HOSTS` (else 421), and an `Origin`, when a browser sends one, on
/// `SWITCHBOARD_ALLOWED_ORIGINS` (else 403). An entry without a port allows every port; `*` allows all.
struct OriginPolicy: Sendable {
    let allowedHosts: [String]
    let allowedOrigins: [String]

    init(hosts: [String], origins: [String]) {
        allowedHosts = hosts.map { $0.lowercased() }
        allowedOrigins = origins.map { $0.lowercased() }
    }

    /// The refusal for a request whose Host or Origin is not allowed, or nil.
    func refusal(for request: Request) -> Response? {
        let host = request.head.authority
        guard let host, Self.matches(host.lowercased(), allowedHosts) else {
            return Self.refuse(.misdirectedRequest, "Host '\(host ?? "")' is not allowed (SWITCHBOARD_ALLOWED_HOSTS)")
        }
        if let origin = request.headers[.origin], !Self.matches(origin.lowercased(), allowedOrigins) {
            return Self.refuse(.forbidden, "Origin '\(origin)' is not allowed (SWITCHBOARD_ALLOWED_ORIGINS)")
        }
        return nil
    }

    /// `value` is `name` or `name:port`; an entry without a port matches any port.
    static func matches(_ value: String, _ entries: [String]) -> Bool {
        let withoutPort = stripPort(value)
        return entries.contains { $0 == "*" || $0 == value || $0 == withoutPort }
    }

    /// `localhost:8080` → `localhost`, `[::1]:8080` → `[::1]`, `http://h:1` → `http://h`.
    static func stripPort(_ value: String) -> String {
        guard let colon = value.lastIndex(of: ":") else { return value }
        let port = value[value.index(after: colon)...]
        guard !port.isEmpty, port.allSatisfy(\.isNumber) else { return value }
        let head = value[..<colon]
        // An IPv6 literal's own colons are inside brackets; a scheme's colon is followed by "//".
        if head.contains("[") && !head.hasSuffix("]") { return value }
        return String(head)
    }

    static func refuse(_ status: HTTPResponse.Status, _ message: String) -> Response {
        Response.json(JSONRPCResponse.error(id: nil, JSONRPCError(.invalidRequest, message)), status: status)
    }
}
