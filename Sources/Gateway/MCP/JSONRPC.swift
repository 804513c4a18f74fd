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

/// One decoded client message. Values the gateway only forwards (ids, tool arguments) stay as raw bytes.
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
    /// The whole body and the byte range of `params` within it.
    let body: [UInt8]
    let paramsRange: Range<Int>?

    /// `params` decoded (small for every method except tools/call, whose arguments stay raw).
    func params() throws(JSONRPCError) -> JSONValue {
        guard let paramsRange else { return .object([]) }
        do {
            let value = try body.withUnsafeBytes { try JSONParser.parse(UnsafeRawBufferPointer(rebasing: $0[paramsRange])) }
            guard case .object = value else { throw JSONRPCError(.invalidParams, "params must be an object") }
            return value
        } catch let error as JSONRPCError {
            throw error
        } catch {
            throw JSONRPCError(.invalidParams, "params: \(error)")
        }
    }

    /// `params` members as raw byte ranges within `body`.
    func paramMembers() throws(JSONRPCError) -> [JSONMemberRange] {
        guard let paramsRange else { return [] }
        do {
            return try body.withUnsafeBytes { pointer in
                try JSONParser.members(of: UnsafeRawBufferPointer(rebasing: pointer[paramsRange])).map {
                    JSONMemberRange(key: $0.key, range: ($0.range.lowerBound + paramsRange.lowerBound)..<($0.range.upperBound + paramsRange.lowerBound))
                }
            }
        } catch {
            throw JSONRPCError(.invalidParams, "params must be an object")
        }
    }

    /// Parses one message. A failure carries the request id whenever it could be read.
    static func parse(_ body: [UInt8]) -> Result<JSONRPCMessage, JSONRPCFailure> {
        let members: [JSONMemberRange]
        do {
            members = try body.withUnsafeBytes { try JSONParser.members(of: $0) }
        } catch {
            // Tell apart "not JSON" from "JSON but not an object".
            let isJSON = (try? body.withUnsafeBytes { try JSONParser.validate($0) }) != nil
            if isJSON {
                let isBatch = body.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) == UInt8(ascii: "[")
                return .failure(JSONRPCFailure(error: JSONRPCError(.invalidRequest, isBatch ? "batch requests are not supported" : "a JSON-RPC message must be an object"), id: nil, isBatch: isBatch))
            }
            return .failure(JSONRPCFailure(error: JSONRPCError(.parseError, "parse error: \(error)"), id: nil))
        }
        func raw(_ key: String) -> [UInt8]? {
            guard let member = members.last(where: { $0.key == key }) else { return nil }
            return Array(body[member.range])
        }
        var id = raw("id")
        if let candidate = id {
            // Ids are strings or numbers; null and anything else make the message invalid.
            let first = candidate.first ?? 0
            let isString = first == UInt8(ascii: "\"")
            let isNumber = first == UInt8(ascii: "-") || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9"))
            if !(isString || isNumber) {
                if candidate == Array("null".utf8) {
                    return .failure(JSONRPCFailure(error: JSONRPCError(.invalidRequest, "id must not be null"), id: nil))
                }
                id = nil
                return .failure(JSONRPCFailure(error: JSONRPCError(.invalidRequest, "id must be a string or a number"), id: nil))
            }
        }
        guard raw("jsonrpc") == Array("\"2.0\"".utf8) else {
            return .failure(JSONRPCFailure(error: JSONRPCError(.invalidRequest, "jsonrpc must be \"2.0\""), id: id))
        }
        let paramsRange = members.last(where: { $0.key == "params" })?.range
        guard let methodBytes = raw("method") else {
            if id != nil, raw("result") != nil || raw("error") != nil {
                return .success(JSONRPCMessage(kind: .response, id: id, method: "", body: body, paramsRange: nil))
            }
            return .failure(JSONRPCFailure(error: JSONRPCError(.invalidRequest, "method is missing"), id: id))
        }
        guard case .string(let method)? = try? JSONParser.parse(methodBytes) else {
            return .failure(JSONRPCFailure(error: JSONRPCError(.invalidRequest, "method must be a string"), id: id))
        }
        if let paramsRange {
            let first = body[paramsRange.lowerBound]
            if first != UInt8(ascii: "{") && first != UInt8(ascii: "[") {
                return .failure(JSONRPCFailure(error: JSONRPCError(.invalidRequest, "params must be an object"), id: id))
            }
        }
        return .success(JSONRPCMessage(kind: id == nil ? .notification : .request, id: id, method: method, body: body, paramsRange: paramsRange))
    }
}

/// A message that could not be accepted, with the id when it was readable.
struct JSONRPCFailure: Error, Sendable {
    let error: JSONRPCError
    let id: [UInt8]?
    var isBatch = false
}

/// Builds JSON-RPC responses around raw result bytes.
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

    static func notification(method: String, params: JSONValue) -> [UInt8] {
        var writer = JSONWriter(capacity: 128)
        writer.raw("{\"jsonrpc\":\"2.0\",\"method\":")
        writer.string(method)
        writer.raw(",\"params\":")
        writer.value(params)
        writer.raw("}")
        return writer.bytes
    }
}
