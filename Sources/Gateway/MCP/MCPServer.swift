import Foundation
import Synchronization
import SwitchboardCore

/// The MCP method dispatcher, independent of the transport (Streamable HTTP, stdio, legacy SSE).
///
/// Handshake-era requests get the 2025 results; 2026-07-28 requests get `resultType`, the server's
/// `_meta` identity and cache hints on every result, and only the methods that revision has.
struct MCPServer: Sendable {
    static let serverInfo: JSONValue = ["name": "switchboard", "title": "Switchboard", "version": .string(ServiceIdentity.version)]
    static let instructions = "Switchboard runs tools on this machine under a security policy. Call tools/list to see them."
    /// `"io.modelcontextprotocol/serverInfo":{…}`, the member stamped into every 2026-07-28 result's `_meta`.
    static let serverInfoMember: [UInt8] = {
        var writer = JSONWriter()
        writer.string(MCPMeta.serverInfo)
        writer.raw(":")
        writer.value(serverInfo)
        return writer.bytes
    }()

    let backends: ToolBackends
    let telemetry: TelemetryReporter
    let metrics: MCPMetrics
    let logLevels: SessionLogLevels
    let toolTimeout: Duration
    /// Tools per `tools/list` page.
    let pageSize: Int
    let limits: RateLimits
    let cache: ToolResultCache
    /// The learn service's policy: which arm of a canary experiment serves each call.
    let policy: LearnedPolicy
    /// Warms the calls predicted to follow a cacheable call (nil without a learn service).
    let warmer: PredictiveWarmer?

    /// Answers one request with the complete JSON-RPC response.
    func handle(_ message: JSONRPCMessage, context: MCPRequestContext) async -> MCPReply {
        let id = message.id ?? JSONRPCResponse.nullID
        metrics.request(message.method, era: context.era)
        do {
            var negotiated: String?
            let result: [UInt8]
            switch (context.era, message.method) {
            case (.handshake, "initialize"):
                negotiated = ProtocolVersion.negotiate(try message.stringParam("protocolVersion"))
                result = initialize(version: negotiated!)
            case (.handshake, "ping"):
                result = Array("{}".utf8)
            case (.handshake, "logging/setLevel"):
                result = try setLevel(message, context: context)
            case (.modern, "server/discover"):
                result = Self.discoverResult
            case (_, "tools/list"):
                result = try await listTools(message, context: context)
            case (_, "tools/call"):
                result = try await callTool(message, context: context)
            default:
                throw JSONRPCError(.methodNotFound, "Method not found: \(message.method)", data: .string(message.method))
            }
            return MCPReply(bytes: JSONRPCResponse.result(id: id, result: result), negotiatedVersion: negotiated)
        } catch let error as JSONRPCError {
            metrics.error(error.code)
            return MCPReply(bytes: JSONRPCResponse.error(id: id, error), error: error.code)
        } catch {
            metrics.error(.internalError)
            return MCPReply(bytes: JSONRPCResponse.error(id: id, JSONRPCError(.internalError, "\(error)")), error: .internalError)
        }
    }

    // MARK: Lifecycle and utilities

    /// What the server declares: tools (with list-change notifications) and logging.
    static let capabilities: JSONValue = ["tools": ["listChanged": true], "logging": [:]]

    private func initialize(version: String) -> [UInt8] {
        let result: JSONValue = [
            "protocolVersion": .string(version),
            "capabilities": Self.capabilities,
            "serverInfo": Self.serverInfo,
            "instructions": .string(Self.instructions),
        ]
        return result.jsonBytes
    }

    /// The 2026-07-28 `server/discover` result; it is the same for every caller.
    static let discoverResult: [UInt8] = {
        let result: JSONValue = [
            "supportedVersions": .array(ProtocolVersion.all.map { .string($0) }),
            "capabilities": capabilities,
            "instructions": .string(instructions),
            "resultType": "complete",
            "ttlMs": 60_000,
            "cacheScope": "public",
            "_meta": [MCPMeta.serverInfo: serverInfo],
        ]
        return result.jsonBytes
    }()

    private func setLevel(_ message: JSONRPCMessage, context: MCPRequestContext) throws(JSONRPCError) -> [UInt8] {
        guard let level = try message.stringParam("level").flatMap(ToolLogLevel.init(rawValue:)) else {
            throw JSONRPCError(.invalidParams, "params.level must be one of \(ToolLogLevel.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let key = context.sessionKey { logLevels.set(level, for: key) }
        return Array("{}".utf8)
    }

    // MARK: Tools

    /// A page of the catalogue in name order. The cursor is the last name of the previous page, so
    /// pages stay stable when tools come and go and on every replica.
    private func listTools(_ message: JSONRPCMessage, context: MCPRequestContext) async throws(JSONRPCError) -> [UInt8] {
        var after: String?
        if let cursor = try message.stringParam("cursor") {
            guard let bytes = Digest.base64URLDecode(cursor), let name = String(validating: bytes, as: UTF8.self) else {
                throw JSONRPCError(.invalidParams, "invalid cursor: pass back a nextCursor from an earlier tools/list")
            }
            after = name
        }
        let tools: [ToolEntry]
        do {
            tools = try await backends.tools()
        } catch {
            throw JSONRPCError(.internalError, error.message)
        }
        let start = after.map { name in tools.firstIndex { $0.name > name } ?? tools.endIndex } ?? 0
        let page = tools[start..<min(tools.endIndex, start + pageSize)]
        var writer = JSONWriter(capacity: page.reduce(64) { $0 + $1.definitionBytes.count + 1 })
        writer.raw("{\"tools\":[")
        for (index, tool) in page.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.raw(tool.definitionBytes)
        }
        writer.raw("]")
        if page.endIndex < tools.endIndex, let last = page.last {
            writer.key("nextCursor")
            writer.string(Digest.base64URL(Array(last.name.utf8)))
        }
        if context.era.isModern {
            writer.raw(",\"resultType\":\"complete\",\"ttlMs\":")
            writer.int(Int(backends.catalogTTL.seconds * 1000))
            writer.raw(",\"cacheScope\":\"private\",\"_meta\":{")
            writer.raw(Self.serverInfoMember)
            writer.raw("}")
        }
        writer.raw("}")
        return writer.bytes
    }

    private func callTool(_ message: JSONRPCMessage, context: MCPRequestContext) async throws(JSONRPCError) -> [UInt8] {
        guard let name = try message.stringParam("name") else {
            throw JSONRPCError(.invalidParams, "tools/call needs params.name (a string)")
        }
        var arguments = ArraySlice(Array("{}".utf8))
        if let raw = message.param("arguments"), !raw.elementsEqual("null".utf8) {
            guard raw.first == UInt8(ascii: "{") else { throw JSONRPCError(.invalidParams, "tools/call params.arguments must be an object") }
            arguments = raw
        }
        let tool: ToolEntry
        do {
            tool = try await backends.tool(named: name)
        } catch {
            if error.kind == .cancelled || Task.isCancelled { throw JSONRPCError(.requestCancelled, "Request cancelled") }
            if error.kind == .unknownTool { throw JSONRPCError(.invalidParams, error.message) }
            return stamp(ToolResultText.error(error.message), context: context)
        }
        if context.era.isModern, let missing = ModernEnvelope.missingCapabilities(tool.requiredCapabilities, declared: context.clientCapabilities) {
            let names = (missing.objectValue ?? []).map(\.key).joined(separator: ", ")
            throw JSONRPCError(
                .missingRequiredClientCapability, "\(name) needs the client capability \(names), which this request does not declare",
                data: ["requiredCapabilities": missing]
            )
        }
        if let headers = context.paramHeaders, !tool.headerParameters.isEmpty {
            let decoded = (try? arguments.withUnsafeBytes { try JSONParser.parse($0) }) ?? [:]
            if let mismatch = HeaderParameter.check(tool.headerParameters, arguments: decoded, headers: headers) { throw mismatch }
        }
        let bypassCache = CacheMeta.requestsBypass(message.param("_meta"))
        let outcome = try await invoke(tool, arguments: arguments, bypassCache: bypassCache, context: context)
        return stamp(outcome.result, members: outcome.members, context: context)
    }

    /// The one place a call leaves for a backend, behind the rate limits and the result cache.
    /// A backend that cannot be reached gives an `isError` result; a cancelled call gives -32800;
    /// a rate-limit denial its JSON-RPC error.
    private func invoke(
        _ tool: ToolEntry, arguments: ArraySlice<UInt8>, bypassCache: Bool, context: MCPRequestContext
    ) async throws(JSONRPCError) -> ToolCallOutcome {
        let start = ContinuousClock.now
        let arm = policy.drawArm()
        do {
            // Rate limit, then the result cache (single-flight), then the backends.
            try await limits.admit(principal: context.principal, tool: tool)
            let backends = self.backends, timeout = toolTimeout
            let events = context.wantsNotifications ? notifications(for: context) : nil
            let run: @Sendable () async throws -> ToolCallOutcome = {
                try await backends.call(
                    tool, arguments: arguments, principal: context.principal, callID: context.callID, timeout: timeout, weights: arm?.weights, events: events
                )
            }
            // A call that asked for progress or log notifications runs itself: a cached or shared answer has none.
            let served = events == nil
                ? try await cache.serve(tool: tool, arguments: arguments, principal: context.principal, bypass: bypassCache, learnedTTLs: arm?.ttls, run: run)
                : ToolResultCache.Served(outcome: try await run(), status: nil)
            let outcome = served.outcome
            report(
                tool: tool.name, context: context, arguments: arguments, backend: outcome.backend, start: start, outcome: outcome.isError ? .toolError : .ok,
                cacheHit: served.status == .hit, arm: arm?.arm, cacheKey: served.cacheKey, resultHash: served.resultHash
            )
            if let warmer, let key = served.cacheKey {
                warmer.answered(tool: tool.name, cacheKey: key, arguments: arguments, principal: context.principal)
            }
            return outcome
        } catch let denial as RateLimitDenial {
            report(tool: tool.name, context: context, arguments: arguments, backend: "", start: start, outcome: .limited, arm: arm?.arm)
            throw denial.jsonRPCError
        } catch {
            if (error as? ToolRoutingError)?.kind == .cancelled || Task.isCancelled {
                report(tool: tool.name, context: context, arguments: arguments, backend: "", start: start, outcome: .cancelled, arm: arm?.arm)
                throw JSONRPCError(.requestCancelled, "Request cancelled")
            }
            report(tool: tool.name, context: context, arguments: arguments, backend: (error as? ToolRoutingError)?.backend ?? "", start: start, outcome: .error, arm: arm?.arm)
            guard let error = error as? ToolRoutingError else {
                return ToolCallOutcome(result: ToolResultText.error("\(tool.name) failed: \(error)"), backend: "")!
            }
            if error.kind == .unknownTool { throw JSONRPCError(.invalidParams, error.message) }
            return ToolCallOutcome(result: ToolResultText.error(error.message), backend: "")!
        }
    }

    /// Turns the tool's progress and log lines into notifications for this request: progress only
    /// with a token and only increasing, log lines only at or above the requested level.
    private func notifications(for context: MCPRequestContext) -> @Sendable (ToolEvent) -> Void {
        let lastProgress = ProgressGate()
        return { event in
            guard let notify = context.notify else { return }
            switch event {
            case .progress(let inner):
                guard let token = context.progressToken, lastProgress.admits(inner) else { return }
                var params = JSONWriter(capacity: inner.count + token.count + 20)
                params.raw("{\"progressToken\":")
                params.raw(token)
                if inner.dropFirst().first(where: { $0 != 0x20 }) != UInt8(ascii: "}") { params.raw(",") }
                params.raw(inner.dropFirst())
                notify(JSONRPCResponse.notification(method: "notifications/progress", params: params.bytes))
            case .log(let level, let inner):
                guard let minimum = context.logLevel, level >= minimum else { return }
                notify(JSONRPCResponse.notification(method: "notifications/message", params: inner))
            }
        }
    }

    /// 2026-07-28 results get `resultType` and the server's `_meta` identity; handshake-era ones pass unchanged.
    private func stamp(_ result: [UInt8], members: [JSONMemberRange]? = nil, context: MCPRequestContext) -> [UInt8] {
        context.era.isModern ? Self.stampModern(result, members: members) : result
    }

    /// Adds `resultType` (unless present) and `_meta["io.modelcontextprotocol/serverInfo"]` to a result
    /// object, copying the result's own members — including its own `_meta` members — as bytes.
    static func stampModern(_ result: [UInt8], members: [JSONMemberRange]? = nil) -> [UInt8] {
        guard let members = members ?? (try? result.withUnsafeBytes({ try JSONParser.members(of: $0) })) else { return result }
        var writer = JSONWriter(capacity: result.count + serverInfoMember.count + 48)
        writer.raw("{")
        var first = true
        if !members.contains(where: { $0.key == "resultType" }) {
            writer.raw("\"resultType\":\"complete\"")
            first = false
        }
        var existingMeta: ArraySlice<UInt8>?
        for member in members {
            if member.key == "_meta", result[member.range.lowerBound] == UInt8(ascii: "{") {
                existingMeta = result[(member.range.lowerBound + 1)..<(member.range.upperBound - 1)]
                continue
            }
            writer.key(member.key, first: first)
            writer.raw(result[member.range])
            first = false
        }
        writer.key("_meta", first: first)
        writer.raw("{")
        writer.raw(serverInfoMember)
        if let existingMeta, existingMeta.contains(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) {
            writer.raw(",")
            writer.raw(existingMeta)
        }
        writer.raw("}}")
        return writer.bytes
    }

    /// Counts the call, and queues its telemetry event when a learn service takes telemetry (the
    /// argument shape, cache key and result hash are only worked out then).
    private func report(
        tool: String, context: MCPRequestContext, arguments: ArraySlice<UInt8>, backend: String, start: ContinuousClock.Instant, outcome: CallEvent.Outcome,
        cacheHit: Bool = false, arm: CallEvent.ExperimentArm? = nil, cacheKey: @autoclosure () -> String? = nil, resultHash: @autoclosure () -> String? = nil
    ) {
        let elapsed = ContinuousClock.now - start
        metrics.toolCall(outcome, duration: elapsed)
        guard telemetry.isEnabled else { return }
        telemetry.record(
            CallEvent(
                timestamp: Date().timeIntervalSince1970, tool: tool, principal: context.principal, backend: backend,
                latencyMilliseconds: elapsed.seconds * 1000, outcome: outcome, cacheHit: cacheHit, argumentShape: Self.argumentShape(arguments), arm: arm,
                cacheKey: cacheKey(), resultHash: resultHash()
            )
        )
    }

    /// `name:type` per top-level argument, read from the raw bytes without decoding the values.
    static func argumentShape(_ arguments: ArraySlice<UInt8>) -> [String] {
        guard let members = try? arguments.withUnsafeBytes({ try JSONParser.members(of: $0) }) else { return [] }
        return members.map { member in
            let value = arguments[(arguments.startIndex + member.range.lowerBound)..<(arguments.startIndex + member.range.upperBound)]
            let type: String
            switch value.first {
            case UInt8(ascii: "\""): type = "string"
            case UInt8(ascii: "{"): type = "object"
            case UInt8(ascii: "["): type = "array"
            case UInt8(ascii: "t"), UInt8(ascii: "f"): type = "boolean"
            case UInt8(ascii: "n"): type = "null"
            default: type = value.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) ? "number" : "integer"
            }
            return "\(member.key):\(type)"
        }.sorted()
    }
}

/// Lets through progress values that increase, as the protocol requires.
final class ProgressGate: Sendable {
    private let last = Mutex<Double?>(nil)

    func admits(_ progress: [UInt8]) -> Bool {
        guard let value = (try? JSONParser.parse(progress))?["progress"]?.doubleValue else { return false }
        return last.withLock { last in
            if let previous = last, value <= previous { return false }
            last = value
            return true
        }
    }
}

/// CallToolResult bytes for messages produced by the gateway itself.
enum ToolResultText {
    static func error(_ message: String) -> [UInt8] {
        JSONValue.object([("content", [["type": "text", "text": .string(message)]]), ("isError", true)]).jsonBytes
    }
}
