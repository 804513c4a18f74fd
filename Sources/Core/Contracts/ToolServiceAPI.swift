/// The tool service's `/v1` contract, shared by the tool service and the gateway.
///
/// - `GET  /v1/tools` → `{"tools":[<MCP Tool>...],"revision":"<hash of the catalogue>"}`, sorted by name.
/// - `POST /v1/tools/call` with `{"name":"…","arguments":{…}}` → an MCP `CallToolResult`
///   (`content`, optional `structuredContent`, `isError`, optional `_meta`).
///   With `Accept: application/x-ndjson` the answer is a stream of lines, each one JSON object:
///   `{"progress":{"progress":1,"total":3,"message":"…"}}` and `{"log":{"level":"info","logger":"…","data":…}}`
///   any number of times, then exactly one `{"result":{<CallToolResult>}}` as the last line.
///   Closing the connection cancels the call (the tool's task is cancelled and its processes are killed).
/// - The caller may name the call in `X-Switchboard-Call-ID`; `POST /v1/calls/{id}/cancel` cancels it
///   (`202` when it was running, `404` when unknown or finished).
/// - The caller names the principal in `X-Switchboard-Principal` and authenticates with the service secret.
///   Unknown tool → `404`; malformed body → `400`; a tool's own failure is a `200` result with `isError: true`.
public enum ToolServiceAPI {
    public static let toolsPath = "/v1/tools"
    public static let callPath = "/v1/tools/call"
    public static let streamMediaType = "application/x-ndjson"
    public static let callIDHeader = "X-Switchboard-Call-ID"

    /// `POST /v1/calls/{id}/cancel`.
    public static func cancelPath(callID: String) -> String { "/v1/calls/\(callID)/cancel" }

    /// Builds a call body around already-serialized arguments, without re-encoding them.
    public static func callBody(name: String, arguments: some Collection<UInt8>) -> [UInt8] {
        var writer = JSONWriter(capacity: arguments.count + name.utf8.count + 32)
        writer.raw("{\"name\":")
        writer.string(name)
        writer.raw(",\"arguments\":")
        writer.raw(arguments)
        writer.raw("}")
        return writer.bytes
    }
}

/// The learn service's `/v1` contract.
///
/// - `POST /v1/events` with `{"events":[<CallEvent>...]}` → `202 {"accepted":n,"dropped":m}`.
/// - `GET /v1/policy` → the current policy with `ETag`; `If-None-Match` with that tag → `304`.
/// - `POST /v1/resources` with `{"samples":[<ResourceSample>...]}` → `202 {"accepted":n,"anomalies":m}`.
public enum LearnServiceAPI {
    public static let eventsPath = "/v1/events"
    public static let policyPath = "/v1/policy"
    public static let resourcesPath = "/v1/resources"

    /// A `POST /v1/events` body: `{"events":[…]}`.
    public static func eventsBody(_ events: [CallEvent]) -> [UInt8] {
        batch("events", events, estimate: 200) { $0.write(into: &$1) }
    }

    /// A `POST /v1/resources` body: `{"samples":[…]}`.
    public static func resourcesBody(_ samples: [ResourceSample]) -> [UInt8] {
        batch("samples", samples, estimate: 160) { $0.write(into: &$1) }
    }

    private static func batch<Item>(_ member: String, _ items: [Item], estimate: Int, _ write: (Item, inout JSONWriter) -> Void) -> [UInt8] {
        var writer = JSONWriter(capacity: items.count * estimate + 16)
        writer.raw("{")
        writer.key(member, first: true)
        writer.raw("[")
        for (index, item) in items.enumerated() {
            if index > 0 { writer.raw(",") }
            write(item, &writer)
        }
        writer.raw("]}")
        return writer.bytes
    }
}
