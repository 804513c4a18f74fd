import SwitchboardCore

/// A tools/call refused by a rate limit, answered as JSON-RPC error -32029 with what the model needs to
/// act: how long to wait and which rule refused.
struct RateLimitDenial: Error, Sendable, Equatable {
    /// The rule that refused (as configured), or nil when the limiter was unreachable in closed mode.
    let rule: String?
    let scope: String?
    let retryAfter: Duration
    let message: String

    /// `error.data`: `{"retryAfterSeconds":0.2,"rule":"principal-tool@write_file=5/1s","scope":"principal-tool"}`.
    var data: JSONValue {
        var members: [(key: String, value: JSONValue)] = [("retryAfterSeconds", .double(Self.seconds(retryAfter)))]
        if let rule { members.append(("rule", .string(rule))) }
        if let scope { members.append(("scope", .string(scope))) }
        return .object(members)
    }

    /// Seconds rounded up to the millisecond, at least 0.001.
    static func seconds(_ duration: Duration) -> Double {
        max(0.001, (duration.seconds * 1000).rounded(.up) / 1000)
    }
}

extension RateLimitDenial {
    /// The JSON-RPC error the gateway answers with.
    var jsonRPCError: JSONRPCError {
        JSONRPCError(.rateLimited, message, data: data)
    }
}
