import HTTPTypes
import SwitchboardCore

/// JSON-RPC 2.0 error codes used by MCP.
enum JSONRPCErrorCode: Int, Sendable {
    case parseError = -32700
    case invalidRequest = -32600
    case methodNotFound = -32601
    case invalidParams = -32602
    case internalError = -32603
    /// 2026-07-28: an HTTP header disagrees with the body.
    case headerMismatch = -32020
    /// 2026-07-28: the request needs a client capability it did not declare.
    case missingRequiredClientCapability = -32021
    /// 2026-07-28: unsupported protocol version.
    case unsupportedProtocolVersion = -32022
    /// Rate limit exceeded (implementation-defined range).
    case rateLimited = -32029
    /// The request was cancelled by `notifications/cancelled` (handshake-era HTTP answers it with this).
    case requestCancelled = -32800

    /// The HTTP status a 2026-07-28 response carries for this error (the reference server's table);
    /// codes not in the table keep 200.
    var modernStatus: HTTPResponse.Status {
        switch self {
        case .parseError, .invalidRequest, .invalidParams, .headerMismatch, .missingRequiredClientCapability, .unsupportedProtocolVersion:
            return .badRequest
        case .methodNotFound:
            return .notFound
        case .internalError, .rateLimited, .requestCancelled:
            return .ok
        }
    }
}

/// A JSON-RPC error ready to be written.
struct JSONRPCError: Error, Sendable {
    let code: JSONRPCErrorCode
    let message: String
    var data: JSONValue?

    init(_ code: JSONRPCErrorCode, _ message: String, data: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }
}

/// One decoded client message. It is parsed once: values the gateway only forwards (the id, tool
/// arguments) stay raw bytes, and `params` is kept as a list of member ranges.
struct JSONRPCMessage: Sendable {
    enum Kind: Sendable {
        case request
        case notification
        /// A response to a server→client request.
        case response
    }

    let kind: Kind
    /// The raw JSON of the id (a string or a number), for requests and responses.
    let id: [UInt8]?
    let method: String
    /// The whole message.
    let body: [UInt8]
    /// The members of `params` with ranges into `body`; empty when params is absent.
    let paramMembers: [JSONMemberRange]

    /// The raw bytes of `params.<key>`.
    func param(_ key: String) -> ArraySlice<UInt8>? {
        guard let member = paramMembers.last(where: { $0.key == key }) else { return nil }
        return body[member.range]
    }

    /// `params.<key>` decoded (small members only; tool arguments stay raw).
    func decodedParam(_ key: String) -> JSONValue? {
        guard let raw = param(key) else { return nil }
        return try? raw.withUnsafeBytes { try JSONParser.parse($0) }
    }

    /// `params.<key>` when it is a string; a wrong type is an invalid-params error naming it.
    func stringParam(_ key: String) throws(JSONRPCError) -> String? {
        guard let value = decodedParam(key), !value.isNull else { return nil }
        guard let text = value.stringValue else { throw JSONRPCError(.invalidParams, "params.\(key) must be a string") }
        return text
    }

    /// `params._meta` decoded; nil when absent. A `_meta` that is not an object is an error.
    func meta() throws(JSONRPCError) -> JSONValue? {
        guard let value = decodedParam("_meta") else { return nil }
        guard case .object = value else { throw JSONRPCError(.invalidParams, "params._meta must be an object") }
        return value
    }

    /// The protocol version a 2026-07-28 envelope names, if the message carries one.
    var envelopeVersion: JSONValue? {
        guard let raw = param("_meta"), raw.first == UInt8(ascii: "{") else { return nil }
        return (try? raw.withUnsafeBytes { try JSONParser.parse($0) })?[MCPMeta.protocolVersion]
    }

    /// Parses one message. A failure carries the request id whenever it could be read.
    static func parse(_ body: [UInt8]) -> Result<JSONRPCMessage, JSONRPCFailure> {
        let members: [JSONMemberRange]
        do {
            members = try body.withUnsafeBytes { try JSONParser.members(of: $0) }
        } catch {
            // Tell apart "not JSON" from "JSON but not an object".
            if (try? body.withUnsafeBytes { try JSONParser.validate($0) }) != nil {
                return .failure(JSONRPCFailure(error: JSONRPCError(.invalidRequest, "a JSON-RPC message must be an object"), id: nil))
            }
            return .failure(JSONRPCFailure(error: JSONRPCError(.parseError, "Parse error: \(error)"), id: nil))
        }
        func raw(_ key: String) -> ArraySlice<UInt8>? {
            guard let member = members.last(where: { $0.key == key }) else { return nil }
            return body[member.range]
        }
        let id = raw("id").map(Array.init)
        if let id {
            // Ids are strings or numbers; null and anything else make the message invalid.
            let first = id.first ?? 0
            let isString = first == UInt8(ascii: "\"")
            let isNumber = first == UInt8(ascii: "-") || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9"))
            if !(isString || isNumber) {
                let reason = id == Array("null".utf8) ? "id must not be null" : "id must be a string or a number"
                return .failure(JSONRPCFailure(error: JSONRPCError(.invalidRequest, reason), id: nil))
            }
        }
        guard let version = raw("jsonrpc"), version.elementsEqual("\"2.0\"".utf8) else {
            return .failure(JSONRPCFailure(error: JSONRPCError(.invalidRequest, "jsonrpc must be \"2.0\""), id: id))
        }
        guard let methodBytes = raw("method") else {
            if id != nil, raw("result") != nil || raw("error") != nil {
                return .success(JSONRPCMessage(kind: .response, id: id, method: "", body: body, paramMembers: []))
            }
            return .failure(JSONRPCFailure(error: JSONRPCError(.invalidRequest, "method is missing"), id: id))
        }
        guard case .string(let method)? = try? methodBytes.withUnsafeBytes({ try JSONParser.parse($0) }) else {
            return .failure(JSONRPCFailure(error: JSONRPCError(.invalidRequest, "method must be a string"), id: id))
        }
        var paramMembers: [JSONMemberRange] = []
        if let params = members.last(where: { $0.key == "params" }) {
            guard body[params.range.lowerBound] == UInt8(ascii: "{") else {
                return .failure(JSONRPCFailure(error: JSONRPCError(.invalidRequest, "params must be an object"), id: id))
            }
            let inner = (try? body.withUnsafeBytes { try JSONParser.members(of: UnsafeRawBufferPointer(rebasing: $0[params.range])) }) ?? []
            paramMembers = inner.map {
                JSONMemberRange(key: $0.key, range: ($0.range.lowerBound + params.range.lowerBound)..<($0.range.upperBound + params.range.lowerBound))
            }
        }
        return .success(JSONRPCMessage(kind: id == nil ? .notification : .request, id: id, method: method, body: body, paramMembers: paramMembers))
    }

    /// Whether `body` (after leading whitespace) is a JSON array: a batch.
    static func isBatch(_ body: some Collection<UInt8>) -> Bool {
        body.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) == UInt8(ascii: "[")
    }

    /// The elements of a batch, each as its own message body; nil when the batch is not valid JSON.
    static func batchElements(_ body: [UInt8]) -> [[UInt8]]? {
        guard let ranges = try? body.withUnsafeBytes({ try JSONParser.elements(of: $0) }) else { return nil }
        return ranges.map { Array(body[$0]) }
    }
}

/// A message that could not be accepted, with the id when it was readable.
struct JSONRPCFailure: Error, Sendable {
    let error: JSONRPCError
    let id: [UInt8]?
}

/// Builds JSON-RPC messages around raw bytes.
enum JSONRPCResponse {
    static let nullID = Array("null".utf8)

    static func result(id: [UInt8], result: some Collection<UInt8>) -> [UInt8] {
        var writer = JSONWriter(capacity: result.count + 40)
        writer.raw("{\"jsonrpc\":\"2.0\",\"id\":")
        writer.raw(id)
        writer.raw(",\"result\":")
        writer.raw(result)
        writer.raw("}")
        return writer.bytes
    }

    static func error(id: [UInt8]?, _ error: JSONRPCError) -> [UInt8] {
        var writer = JSONWriter(capacity: 128)
        writer.raw("{\"jsonrpc\":\"2.0\",\"id\":")
        writer.raw(id ?? nullID)
        writer.raw(",\"error\":{\"code\":")
        writer.int(error.code.rawValue)
        writer.key("message")
        writer.string(error.message)
        if let data = error.data {
            writer.key("data")
            writer.value(data)
        }
        writer.raw("}}")
        return writer.bytes
    }

    /// A notification whose params are already serialized.
    static func notification(method: StaticString, params: some Collection<UInt8>) -> [UInt8] {
        var writer = JSONWriter(capacity: params.count + 64)
        writer.raw("{\"jsonrpc\":\"2.0\",\"method\":\"")
        writer.raw(method)
        writer.raw("\",\"params\":")
        writer.raw(params)
        writer.raw("}")
        return writer.bytes
    }
}

/// The reserved `_meta` keys of the 2026-07-28 envelope.
enum MCPMeta {
    static let protocolVersion = "io.modelcontextprotocol/protocolVersion"
    static let clientCapabilities = "io.modelcontextprotocol/clientCapabilities"
    static let clientInfo = "io.modelcontextprotocol/clientInfo"
    static let logLevel = "io.modelcontextprotocol/logLevel"
    static let serverInfo = "io.modelcontextprotocol/serverInfo"
    static let subscriptionID = "io.modelcontextprotocol/subscriptionId"
    /// A tool's `_meta` member naming client capabilities its calls need (Switchboard's own key).
    static let requiredClientCapabilities = "io.switchboard/requiredClientCapabilities"
}
