/// Telemetry about one tool call, sent by the gateway to the learn service after the call has been
/// answered. It describes the call's shape, never its argument values.
///
/// Wire form (`POST /v1/events` body: `{"events":[…]}`):
/// `{"ts":1732180000.123,"tool":"read_file","principal":"local","backend":"http://127.0.0.1:8081",
///   "latency_ms":1.8,"outcome":"ok","cache_hit":false,"arg_shape":["path:string"]}`, plus
/// `"experiment":"exp-1","arm":"candidate"` (or `"control"`) while the policy runs a canary experiment, and for
/// calls of cacheable tools `"cache_key":"…"` (an opaque hash of what the result cache keys on) and, when the
/// tool ran, `"result_hash":"…"` (a hash of the result bytes).
public struct CallEvent: Sendable, Equatable {
    /// How a call ended.
    public enum Outcome: String, Sendable, CaseIterable {
        /// The tool ran and succeeded.
        case ok
        /// The tool ran and reported `isError: true`.
        case toolError = "tool_error"
        /// The policy refused the call.
        case denied
        /// The call failed before a result (backend down, timeout, protocol error).
        case error
        /// A rate limit refused the call.
        case limited
        /// The client cancelled the call.
        case cancelled
    }

    /// Seconds since the Unix epoch.
    public var timestamp: Double
    public var tool: String
    public var principal: String
    /// Which replica or upstream served the call ("cache" for a cache hit).
    public var backend: String
    public var latencyMilliseconds: Double
    public var outcome: Outcome
    public var cacheHit: Bool
    /// `name:type` for each top-level argument, sorted.
    public var argumentShape: [String]
    /// The canary experiment and arm the call was served under (nil: no experiment running).
    public var arm: ExperimentArm?
    /// For a cacheable tool: an opaque hash of the tool, the cache scope and the canonical arguments
    /// (equal calls have equal keys; argument values cannot be read from it).
    public var cacheKey: String?
    /// For a cacheable tool that ran (not a cache hit): a hash of the result bytes, so the learn service
    /// sees when a key's result changes.
    public var resultHash: String?

    /// Which side of a canary experiment served a call.
    public struct ExperimentArm: Sendable, Equatable {
        public var experiment: String
        /// True: the candidate policy; false: the control (the published policy).
        public var candidate: Bool

        public init(experiment: String, candidate: Bool) {
            self.experiment = experiment
            self.candidate = candidate
        }
    }

    public init(
        timestamp: Double, tool: String, principal: String, backend: String, latencyMilliseconds: Double, outcome: Outcome,
        cacheHit: Bool = false, argumentShape: [String] = [], arm: ExperimentArm? = nil, cacheKey: String? = nil, resultHash: String? = nil
    ) {
        self.timestamp = timestamp
        self.tool = tool
        self.principal = principal
        self.backend = backend
        self.latencyMilliseconds = latencyMilliseconds
        self.outcome = outcome
        self.cacheHit = cacheHit
        self.argumentShape = argumentShape
        self.arm = arm
        self.cacheKey = cacheKey
        self.resultHash = resultHash
    }

    /// The shape of an arguments object: `name:type` per member, sorted.
    public static func shape(of arguments: JSONValue?) -> [String] {
        guard let members = arguments?.objectValue else { return [] }
        return members.map { "\($0.key):\($0.value.typeName)" }.sorted()
    }

    public func write(into writer: inout JSONWriter) {
        writer.raw("{\"ts\":")
        writer.double(timestamp)
        writer.key("tool")
        writer.string(tool)
        writer.key("principal")
        writer.string(principal)
        writer.key("backend")
        writer.string(backend)
        writer.key("latency_ms")
        writer.double(latencyMilliseconds)
        writer.key("outcome")
        writer.string(outcome.rawValue)
        writer.key("cache_hit")
        writer.bool(cacheHit)
        writer.key("arg_shape")
        writer.raw("[")
        for (index, item) in argumentShape.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.string(item)
        }
        writer.raw("]")
        if let arm {
            writer.key("experiment")
            writer.string(arm.experiment)
            writer.key("arm")
            writer.string(arm.candidate ? "candidate" : "control")
        }
        if let cacheKey {
            writer.key("cache_key")
            writer.string(cacheKey)
        }
        if let resultHash {
            writer.key("result_hash")
            writer.string(resultHash)
        }
        writer.raw("}")
    }

    /// Reads an event; nil names the first missing or mistyped field.
    public init(json: JSONValue) throws(ContractError) {
        guard case .object = json else { throw ContractError("event is not an object") }
        guard let timestamp = json["ts"]?.doubleValue else { throw ContractError("event.ts must be a number") }
        guard let tool = json["tool"]?.stringValue, !tool.isEmpty else { throw ContractError("event.tool must be a non-empty string") }
        guard let latency = json["latency_ms"]?.doubleValue, latency >= 0 else { throw ContractError("event.latency_ms must be a number ≥ 0") }
        guard let outcomeText = json["outcome"]?.stringValue, let outcome = Outcome(rawValue: outcomeText) else {
            throw ContractError("event.outcome must be one of \(Outcome.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.init(
            timestamp: timestamp, tool: tool, principal: json["principal"]?.stringValue ?? "", backend: json["backend"]?.stringValue ?? "",
            latencyMilliseconds: latency, outcome: outcome, cacheHit: json["cache_hit"]?.boolValue ?? false,
            argumentShape: json["arg_shape"]?.arrayValue?.compactMap(\.stringValue) ?? [],
            arm: try Self.arm(json), cacheKey: try Self.optionalString(json, "cache_key"), resultHash: try Self.optionalString(json, "result_hash")
        )
    }
}

extension CallEvent {
    fileprivate static func optionalString(_ json: JSONValue, _ name: String) throws(ContractError) -> String? {
        guard let value = json[name], value != .null else { return nil }
        guard let text = value.stringValue else { throw ContractError("event.\(name) must be a string") }
        return text
    }

    fileprivate static func arm(_ json: JSONValue) throws(ContractError) -> ExperimentArm? {
        guard let experiment = json["experiment"]?.stringValue else { return nil }
        switch json["arm"]?.stringValue {
        case "candidate": return ExperimentArm(experiment: experiment, candidate: true)
        case "control": return ExperimentArm(experiment: experiment, candidate: false)
        default: throw ContractError("event.arm must be candidate or control when event.experiment is set")
        }
    }
}

/// A request body that does not match a `/v1` contract.
public struct ContractError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
