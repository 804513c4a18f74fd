import Foundation
import SwitchboardCore

/// The MCP method dispatcher, independent of the transport (Streamable HTTP, stdio, legacy SSE).
struct MCPServer: Sendable {
    /// Handshake-era versions, newest first.
    static let handshakeVersions = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]
    static let serverName = "switchboard"

    let backends: ToolBackends
    let telemetry: TelemetryReporter
    let toolTimeout: Duration
    let limits: RateLimits
    let cache: ToolResultCache

    /// Answers one request with the complete JSON-RPC response.
    func handle(_ message: JSONRPCMessage, principal: String) async -> [UInt8] {
        let id = message.id ?? JSONRPCResponse.nullID
        do {
            let result: [UInt8]
            switch message.method {
            case "initialize":
                result = try initialize(message.params())
            case "ping":
                result = Array("{}".utf8)
            case "tools/list":
                result = try await listTools()
            case "tools/call":
                result = try await callTool(message, principal: principal)
            default:
                throw JSONRPCError(.methodNotFound, "Method not found: \(message.method)", data: .string(message.method))
            }
            return JSONRPCResponse.result(id: id, result: result)
        } catch let error as JSONRPCError {
            return JSONRPCResponse.error(id: id, error)
        } catch {
            return JSONRPCResponse.error(id: id, JSONRPCError(.internalError, "\(error)"))
        }
    }

    /// Version negotiation: the requested version when supported, else the newest (a counter-offer, never an error).
    static func negotiate(_ requested: String?) -> String {
        guard let requested, handshakeVersions.contains(requested) else { return handshakeVersions[0] }
        return requested
    }

    private func initialize(_ params: JSONValue) throws -> [UInt8] {
        let version = Self.negotiate(params["protocolVersion"]?.stringValue)
        let result: JSONValue = [
            "protocolVersion": .string(version),
            "capabilities": ["tools": ["listChanged": false]],
            "serverInfo": ["name": .string(Self.serverName), "version": .string(ServiceIdentity.version)],
            "instructions": "Switchboard runs tools on this machine under a security policy. Call tools/list to see them.",
        ]
        return result.jsonBytes
    }

    private func listTools() async throws -> [UInt8] {
        let tools: [ToolEntry]
        do {
            tools = try await backends.tools()
        } catch {
            throw JSONRPCError(.internalError, error.message)
        }
        var writer = JSONWriter(capacity: 4096)
        writer.raw("{\"tools\":[")
        for (index, tool) in tools.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.value(tool.definition)
        }
        writer.raw("]}")
        return writer.bytes
    }

    private func callTool(_ message: JSONRPCMessage, principal: String) async throws -> [UInt8] {
        let members = try message.paramMembers()
        guard let nameMember = members.last(where: { $0.key == "name" }),
            case .string(let name)? = try? JSONParser.parse(Array(message.body[nameMember.range]))
        else {
            throw JSONRPCError(.invalidParams, "tools/call needs params.name (a string)")
        }
        var arguments = ArraySlice(Array("{}".utf8))
        if let argumentsMember = members.last(where: { $0.key == "arguments" }) {
            let raw = message.body[argumentsMember.range]
            if raw.first == UInt8(ascii: "{") {
                arguments = raw
            } else if !raw.elementsEqual("null".utf8) {
                throw JSONRPCError(.invalidParams, "tools/call params.arguments must be an object")
            }
        }
        let start = ContinuousClock.now
        let tool: ToolEntry
        do {
            tool = try await backends.tool(named: name)
        } catch {
            if error.kind == .unknownTool { throw JSONRPCError(.invalidParams, error.message) }
            return ToolResultText.error(error.message)
        }
        let shape = CallEvent.shape(of: try? JSONParser.parse(Array(arguments)))
        do {
            // Rate limit → cache lookup (single-flight) → backends → store/invalidate.
            try await limits.admit(principal: principal, tool: tool)
            let bypass = CacheMeta.requestsBypass(members.last(where: { $0.key == "_meta" }).map { message.body[$0.range] })
            let served = try await cache.serve(tool: tool, arguments: arguments, principal: principal, bypass: bypass) { [arguments] in
                try await backends.call(tool, arguments: arguments, principal: principal, timeout: toolTimeout)
            }
            let outcome = served.outcome
            report(
                tool: name, principal: principal, backend: outcome.backend, start: start, outcome: outcome.isError ? .toolError : .ok, shape: shape,
                cacheHit: served.status == .hit
            )
            return outcome.result
        } catch let denial as RateLimitDenial {
            report(tool: name, principal: principal, backend: "", start: start, outcome: .limited, shape: shape)
            throw denial.jsonRPCError
        } catch let error as ToolRoutingError {
            report(tool: name, principal: principal, backend: "", start: start, outcome: .error, shape: shape)
            if error.kind == .unknownTool { throw JSONRPCError(.invalidParams, error.message) }
            return ToolResultText.error(error.message)
        }
    }

    private func report(
        tool: String, principal: String, backend: String, start: ContinuousClock.Instant, outcome: CallEvent.Outcome, shape: [String], cacheHit: Bool = false
    ) {
        let elapsed = ContinuousClock.now - start
        telemetry.record(
            CallEvent(
                timestamp: Date().timeIntervalSince1970, tool: tool, principal: principal, backend: backend,
                latencyMilliseconds: elapsed.seconds * 1000, outcome: outcome, cacheHit: cacheHit, argumentShape: shape
            )
        )
    }
}

/// CallToolResult bytes for messages produced by the gateway itself.
enum ToolResultText {
    static func error(_ message: String) -> [UInt8] {
        JSONValue.object([("content", [["type": "text", "text": .string(message)]]), ("isError", true)]).jsonBytes
    }
}
