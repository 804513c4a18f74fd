import Foundation
import HTTPTypes
import SwitchboardCore

/// What a 2026-07-28 request declares about itself, once it passed the validation ladder:
/// `params._meta` (version, client capabilities, log level, progress token) checked against the
/// HTTP routing headers.
struct ModernEnvelope: Sendable {
    let version: String
    let clientCapabilities: JSONValue
    /// `io.modelcontextprotocol/logLevel`: without it no `notifications/message` may be sent.
    let logLevel: ToolLogLevel?
    /// The raw JSON of `_meta.progressToken`: without it no `notifications/progress` may be sent.
    let progressToken: [UInt8]?

    /// Methods whose target travels in `Mcp-Name`, with the params member it must equal.
    static let nameBearingMethods = ["tools/call": "name", "prompts/get": "name", "resources/read": "uri"]

    /// The ladder, first failure wins (the reference server's order): the `_meta` envelope shape
    /// (-32602), then — over HTTP — `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` against the body
    /// (-32020), then the version itself (-32602 when not a string, -32022 when not served).
    static func validate(_ message: JSONRPCMessage, headers: RoutingHeaders?) -> Result<ModernEnvelope, JSONRPCError> {
        let meta: JSONValue
        do {
            guard let decoded = try message.meta() else { throw JSONRPCError(.invalidParams, "") }
            meta = decoded
        } catch {
            return .failure(
                JSONRPCError(
                    .invalidParams,
                    "params._meta must be an object carrying the required '\(MCPMeta.protocolVersion)' and '\(MCPMeta.clientCapabilities)' envelope keys"
                )
            )
        }
        let missing = [MCPMeta.protocolVersion, MCPMeta.clientCapabilities].filter { meta[$0] == nil }
        if !missing.isEmpty {
            return .failure(JSONRPCError(.invalidParams, "params._meta is missing the required envelope key(s): \(missing.joined(separator: ", "))"))
        }
        let version = meta[MCPMeta.protocolVersion] ?? .null
        if let headers {
            guard let header = headers.protocolVersion, version.stringValue == header else {
                return .failure(JSONRPCError(.headerMismatch, "MCP-Protocol-Version header does not match the request envelope's protocol version"))
            }
            guard headers.method == message.method else {
                return .failure(JSONRPCError(.headerMismatch, "Mcp-Method header does not match the request body's method"))
            }
            if let key = nameBearingMethods[message.method], let target = message.decodedParam(key), !target.isNull {
                guard let name = headers.name.flatMap(HeaderValue.decode), name == target.stringValue else {
                    return .failure(JSONRPCError(.headerMismatch, "Mcp-Name header does not match the request body's '\(key)' parameter"))
                }
            }
        }
        guard let requested = version.stringValue else {
            return .failure(JSONRPCError(.invalidParams, "the protocol-version envelope value must be a string"))
        }
        if let unsupported = unsupported(requested) { return .failure(unsupported) }
        guard case .object = meta[MCPMeta.clientCapabilities] ?? .null else {
            return .failure(JSONRPCError(.invalidParams, "\(MCPMeta.clientCapabilities) must be an object"))
        }
        var logLevel: ToolLogLevel?
        if let level = meta[MCPMeta.logLevel], !level.isNull {
            guard let parsed = level.stringValue.flatMap(ToolLogLevel.init(rawValue:)) else {
                return .failure(JSONRPCError(.invalidParams, "\(MCPMeta.logLevel) must be one of \(ToolLogLevel.allCases.map(\.rawValue).joined(separator: ", "))"))
            }
            logLevel = parsed
        }
        let progressToken: [UInt8]?
        do {
            progressToken = try Self.progressToken(in: meta)
        } catch {
            return .failure(error)
        }
        return .success(ModernEnvelope(version: requested, clientCapabilities: meta[MCPMeta.clientCapabilities] ?? [:], logLevel: logLevel, progressToken: progressToken))
    }

    /// The -32022 error for a version that is not served, or nil.
    static func unsupported(_ requested: String) -> JSONRPCError? {
        guard !ProtocolVersion.modern.contains(requested) else { return nil }
        return JSONRPCError(
            .unsupportedProtocolVersion, "Unsupported protocol version",
            data: ["supported": .array(ProtocolVersion.all.map { .string($0) }), "requested": .string(requested)]
        )
    }

    /// `_meta.progressToken` as raw JSON: a string or an integer, anything else is invalid.
    static func progressToken(in meta: JSONValue?) throws(JSONRPCError) -> [UInt8]? {
        guard let token = meta?["progressToken"], !token.isNull else { return nil }
        switch token {
        case .string, .int: return token.jsonBytes
        default: throw JSONRPCError(.invalidParams, "_meta.progressToken must be a string or an integer")
        }
    }

    /// The capabilities from `required` that `clientCapabilities` does not declare, or nil when all are.
    static func missingCapabilities(_ required: JSONValue?, declared: JSONValue) -> JSONValue? {
        guard let required = required?.objectValue else { return nil }
        let missing = required.filter { declared[$0.key] == nil || declared[$0.key]?.isNull == true }
        return missing.isEmpty ? nil : .object(missing)
    }
}

/// The routing headers of a 2026-07-28 HTTP request, read once.
struct RoutingHeaders: Sendable {
    let protocolVersion: String?
    let method: String?
    let name: String?
    /// `Mcp-Param-*` headers: the lowercased token after the prefix and the raw value.
    let params: [(token: String, value: String)]
    /// The first routing header that appears more than once.
    let duplicated: String?

    init(_ fields: HTTPFields) {
        var duplicated: String?
        func single(_ name: HTTPField.Name) -> String? {
            let values = fields[values: name]
            if values.count > 1, duplicated == nil { duplicated = name.canonicalName }
            return values.first
        }
        protocolVersion = single(.mcpProtocolVersion)
        method = single(.mcpMethod)
        name = single(.mcpName)
        var params: [(token: String, value: String)] = []
        for field in fields where field.name.canonicalName.hasPrefix("mcp-param-") {
            params.append((String(field.name.canonicalName.dropFirst("mcp-param-".count)), field.value))
        }
        self.params = params
        self.duplicated = duplicated
    }
}

/// Header values that may carry the `=?base64?…?=` sentinel (non-ASCII or edge-whitespace values).
enum HeaderValue {
    /// The value, or the decoded payload of a sentinel; nil when a sentinel is malformed or not canonical.
    static func decode(_ value: String) -> String? {
        guard value.hasPrefix("=?base64?"), value.hasSuffix("?="), value.count >= 11 else { return value }
        let payload = String(value.dropFirst(9).dropLast(2))
        guard let data = Data(base64Encoded: payload), data.base64EncodedString() == payload else { return nil }
        return String(data: data, encoding: .utf8)
    }
}

extension HTTPField.Name {
    static let mcpProtocolVersion = HTTPField.Name("MCP-Protocol-Version")!
    static let mcpMethod = HTTPField.Name("Mcp-Method")!
    static let mcpName = HTTPField.Name("Mcp-Name")!
    static let mcpSessionID = HTTPField.Name("Mcp-Session-Id")!
    static let xAccelBuffering = HTTPField.Name("X-Accel-Buffering")!
}
