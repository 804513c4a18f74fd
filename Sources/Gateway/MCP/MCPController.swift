import HTTPTypes
import Hummingbird
import NIOCore
import SwitchboardCore

/// The Streamable HTTP endpoint `/mcp`, serving both protocol eras and choosing per request:
/// an `MCP-Protocol-Version` header naming a handshake revision (or none) is the handshake era,
/// any other value (or a body carrying the 2026-07-28 `_meta` envelope) the stateless era.
struct MCPController: Sendable {
    let server: MCPServer
    let authenticator: any ClientAuthenticator
    let origins: OriginPolicy
    let sessions: SessionSigner
    /// Handshake-era tool calls in progress, by downstream call id (for `notifications/cancelled`).
    let inFlight: CancellationRegistry
    let catalogWatch: CatalogWatch
    let metrics: MCPMetrics
    let maxBodySize: Int

    func addRoutes(to router: Router<ServiceRequestContext>) {
        router.post("mcp") { request, _ in
            await post(request)
        }
        router.get("mcp") { request, _ in
            get(request)
        }
        router.delete("mcp") { request, _ in
            delete(request)
        }
    }

    // MARK: Admission

    /// The principal, or the response refusing the request (Host/Origin, then the API key).
    func admit(_ request: Request) -> Result<String, Refusal> {
        if let refusal = origins.refusal(for: request) { return .failure(Refusal(response: refusal)) }
        let authorization = request.headers[.authorization]
        guard let principal = authenticator.principal(forAuthorization: authorization) else {
            let challenge = authorization == nil ? "Bearer realm=\"switchboard\"" : "Bearer realm=\"switchboard\", error=\"invalid_token\""
            let message = authorization == nil ? "missing API key: send Authorization: Bearer <key>" : "invalid API key"
            return .failure(
                Refusal(response: Response.json(JSONRPCResponse.error(id: nil, JSONRPCError(.invalidRequest, message)), status: .unauthorized, headers: [.wwwAuthenticate: challenge]))
            )
        }
        return .success(principal)
    }

    struct Refusal: Error {
        let response: Response
    }

    static func error(_ status: HTTPResponse.Status, _ error: JSONRPCError, id: [UInt8]? = nil, headers: HTTPFields = [:]) -> Response {
        Response.json(JSONRPCResponse.error(id: id, error), status: status, headers: headers)
    }

    // MARK: POST

    func post(_ request: Request) async -> Response {
        var request = request
        let principal: String
        switch admit(request) {
        case .success(let admitted): principal = admitted
        case .failure(let refusal): return refusal.response
        }
        guard AcceptedTypes.isJSON(request.headers[.contentType]) else {
            return Self.error(.unsupportedMediaType, JSONRPCError(.invalidRequest, "Content-Type must be application/json"))
        }
        let accept = AcceptedTypes(request.headers[values: .accept])
        guard accept.json else {
            return Self.error(.notAcceptable, JSONRPCError(.invalidRequest, "Accept must include application/json (and text/event-stream for streamed answers)"))
        }
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > maxBodySize {
            return tooLarge()
        }
        let body: [UInt8]
        do {
            body = Array(try await request.collectBody(upTo: maxBodySize).readableBytesView)
        } catch {
            return tooLarge()
        }
        let versions = request.headers[values: .mcpProtocolVersion]
        let isModern = versions.first.map { !ProtocolVersion.handshake.contains($0) } ?? false
        if JSONRPCMessage.isBatch(body) {
            return isModern
                ? Self.error(.badRequest, JSONRPCError(.invalidRequest, "Body must be a single JSON-RPC request or notification object"))
                : await postHandshakeBatch(body, request: request, principal: principal)
        }
        let message: JSONRPCMessage
        switch JSONRPCMessage.parse(body) {
        case .success(let parsed):
            message = parsed
        case .failure(let failure):
            metrics.error(failure.error.code)
            return Self.error(.badRequest, failure.error, id: failure.id)
        }
        if isModern || (versions.isEmpty && message.envelopeVersion != nil) {
            return await postModern(message, request: request, principal: principal, accept: accept)
        }
        return await postHandshake(message, request: request, principal: principal, accept: accept)
    }

    private func postModern(_ message: JSONRPCMessage, request: Request, principal: String, accept: AcceptedTypes) async -> Response {
        let headers = RoutingHeaders(request.headers)
        switch message.kind {
        case .notification:
            metrics.request(message.method, era: .modern(ProtocolVersion.modern[0]))
            if let version = headers.protocolVersion, let unsupported = ModernEnvelope.unsupported(version) {
                return Self.error(.badRequest, unsupported)
            }
            return Response(status: .accepted)
        case .response:
            return Self.error(.badRequest, JSONRPCError(.invalidRequest, "Body must be a single JSON-RPC request or notification object"), id: message.id)
        case .request:
            break
        }
        if message.method == "subscriptions/listen" && !accept.eventStream {
            return Self.error(.notAcceptable, JSONRPCError(.invalidRequest, "subscriptions/listen answers with text/event-stream: add it to Accept"), id: message.id)
        }
        if let duplicated = headers.duplicated {
            metrics.error(.headerMismatch)
            return Self.error(.badRequest, JSONRPCError(.headerMismatch, "\(duplicated) header appears more than once"), id: message.id)
        }
        let envelope: ModernEnvelope
        switch ModernEnvelope.validate(message, headers: headers) {
        case .success(let validated):
            envelope = validated
        case .failure(let error):
            metrics.request(message.method, era: .modern(ProtocolVersion.modern[0]))
            metrics.error(error.code)
            return Self.error(error.code.modernStatus, error, id: message.id)
        }
        let context = MCPRequestContext(
            principal: principal, era: .modern(envelope.version), clientCapabilities: envelope.clientCapabilities,
            progressToken: envelope.progressToken, logLevel: envelope.logLevel, paramHeaders: headers.params
        )
        switch message.method {
        case "subscriptions/listen":
            metrics.request(message.method, era: context.era)
            return listen(message, request: request)
        case "tools/call":
            return await call(message, context: context, request: request, accept: accept)
        default:
            return Self.json(await server.handle(message, context: context), era: context.era)
        }
    }

    private func postHandshake(_ message: JSONRPCMessage, request: Request, principal: String, accept: AcceptedTypes) async -> Response {
        let session: MCPSession?
        switch self.session(request, principal: principal) {
        case .success(let found): session = found
        case .failure(let refusal): return refusal.response
        }
        let versions = request.headers[values: .mcpProtocolVersion]
        guard versions.count <= 1 else {
            return Self.error(.badRequest, JSONRPCError(.invalidRequest, "MCP-Protocol-Version header appears more than once"), id: message.id)
        }
        let version = versions.first ?? session?.version ?? ProtocolVersion.assumedHandshake
        let sessionKey = session?.id ?? "principal:\(principal)"
        switch message.kind {
        case .notification:
            metrics.request(message.method, era: .handshake(version))
            if message.method == "notifications/cancelled" { cancel(message, sessionKey: sessionKey) }
            return Response(status: .accepted)
        case .response:
            return Response(status: .accepted)
        case .request:
            break
        }
        var context = MCPRequestContext(principal: principal, era: .handshake(version), sessionKey: sessionKey)
        context.logLevel = server.logLevels.level(for: sessionKey)
        context.callID = MCPRequestContext.callID(sessionKey: sessionKey, requestID: message.id ?? [])
        do {
            context.progressToken = try ModernEnvelope.progressToken(in: try message.meta())
        } catch {
            metrics.error(error.code)
            return Self.error(.ok, error, id: message.id)
        }
        switch message.method {
        case "tools/call":
            return await call(message, context: context, request: request, accept: accept, cancellable: true)
        case "initialize":
            let reply = await server.handle(message, context: context)
            guard let negotiated = reply.negotiatedVersion else { return Self.json(reply, era: context.era) }
            let issued = sessions.issue(principal: principal, version: negotiated)
            metrics.sessionIssued()
            return Response.json(reply.bytes, headers: [.mcpSessionID: issued.id])
        default:
            return Self.json(await server.handle(message, context: context), era: context.era)
        }
    }

    /// A JSON-RPC batch, which only 2025-03-26 has: each element is answered in order, in one array.
    private func postHandshakeBatch(_ body: [UInt8], request: Request, principal: String) async -> Response {
        let session: MCPSession?
        switch self.session(request, principal: principal) {
        case .success(let found): session = found
        case .failure(let refusal): return refusal.response
        }
        let version = request.headers[.mcpProtocolVersion] ?? session?.version ?? ProtocolVersion.assumedHandshake
        guard ProtocolVersion.acceptsBatches(version) else {
            return Self.error(.badRequest, JSONRPCError(.invalidRequest, "JSON-RPC batches are not supported by protocol version \(version) (removed in 2025-06-18)"))
        }
        guard let elements = JSONRPCMessage.batchElements(body) else {
            return Self.error(.badRequest, JSONRPCError(.parseError, "Parse error: the batch is not valid JSON"))
        }
        guard !elements.isEmpty else { return Self.error(.badRequest, JSONRPCError(.invalidRequest, "the batch is empty")) }
        let sessionKey = session?.id ?? "principal:\(principal)"
        let replies = await withTaskGroup(of: (Int, [UInt8]?).self) { group in
            for (index, element) in elements.enumerated() {
                group.addTask {
                    let message: JSONRPCMessage
                    switch JSONRPCMessage.parse(element) {
                    case .success(let parsed): message = parsed
                    case .failure(let failure): return (index, JSONRPCResponse.error(id: failure.id, failure.error))
                    }
                    switch message.kind {
                    case .notification:
                        metrics.request(message.method, era: .handshake(version))
                        if message.method == "notifications/cancelled" { cancel(message, sessionKey: sessionKey) }
                        return (index, nil)
                    case .response:
                        return (index, nil)
                    case .request:
                        guard message.method != "initialize" else {
                            return (index, JSONRPCResponse.error(id: message.id, JSONRPCError(.invalidRequest, "initialize must not be part of a JSON-RPC batch")))
                        }
                        var context = MCPRequestContext(principal: principal, era: .handshake(version), sessionKey: sessionKey)
                        context.callID = MCPRequestContext.callID(sessionKey: sessionKey, requestID: message.id ?? [])
                        return (index, await server.handle(message, context: context).bytes)
                    }
                }
            }
            var replies: [(Int, [UInt8])] = []
            for await (index, reply) in group {
                if let reply { replies.append((index, reply)) }
            }
            return replies.sorted { $0.0 < $1.0 }.map(\.1)
        }
        guard !replies.isEmpty else { return Response(status: .accepted) }
        var writer = JSONWriter(capacity: replies.reduce(2) { $0 + $1.count + 1 })
        writer.raw("[")
        for (index, reply) in replies.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.raw(reply)
        }
        writer.raw("]")
        return Response.json(writer.bytes)
    }

    /// The session a handshake-era request names, if any; an id that does not verify gets 404.
    private func session(_ request: Request, principal: String) -> Result<MCPSession?, Refusal> {
        guard let id = request.headers[.mcpSessionID] else { return .success(nil) }
        guard let session = sessions.verify(id, principal: principal) else {
            return .failure(
                Refusal(response: Self.error(.notFound, JSONRPCError(.invalidRequest, "unknown or expired session: send initialize again to get a new one")))
            )
        }
        return .success(session)
    }

    /// `notifications/cancelled`: stops the named call here, or asks every tool-service replica to
    /// when another gateway replica is running it.
    private func cancel(_ message: JSONRPCMessage, sessionKey: String) {
        guard let requestID = message.param("requestId") else { return }
        let callID = MCPRequestContext.callID(sessionKey: sessionKey, requestID: Array(requestID))
        metrics.cancelled(.notification)
        if !inFlight.cancel(callID) {
            let backends = server.backends
            Task { await backends.cancel(callID: callID) }
        }
    }

    // MARK: tools/call

    /// Something a running call produced for its response.
    private enum ResponseEvent: Sendable {
        case notification([UInt8])
        case ping
        case reply(MCPReply)
    }

    /// Runs a tools/call. The answer is JSON unless a notification for it flows (or it runs past the
    /// keepalive interval) while the client accepts event streams: then the answer turns into SSE.
    /// A client that hangs up cancels the call; so does `notifications/cancelled` (`cancellable`).
    private func call(_ message: JSONRPCMessage, context: MCPRequestContext, request: Request, accept: AcceptedTypes, cancellable: Bool = false) async -> Response {
        var context = context
        let era = context.era
        let metrics = self.metrics
        guard accept.eventStream && (context.progressToken != nil || context.logLevel != nil) else {
            context.notify = nil
            let server = self.server
            let running = context
            let task = Task { await server.handle(message, context: running) }
            let token = cancellable ? inFlight.add(context.callID) { task.cancel() } : nil
            let watch = DisconnectWatch(request: request) {
                metrics.cancelled(.disconnect)
                task.cancel()
            }
            let reply = await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }
            let closing = await watch.stop()
            if let token { inFlight.remove(context.callID, token: token) }
            return Self.json(reply, era: era, closing: closing)
        }
        let (events, sink) = AsyncStream.makeStream(of: ResponseEvent.self, bufferingPolicy: .bufferingNewest(256))
        context.notify = { sink.yield(.notification($0)) }
        let server = self.server
        let running = context
        let task = Task {
            let reply = await server.handle(message, context: running)
            sink.yield(.reply(reply))
            sink.finish()
        }
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: SSE.keepalive)
                sink.yield(.ping)
            }
        }
        let token = cancellable ? inFlight.add(context.callID) { task.cancel() } : nil
        let watch = DisconnectWatch(request: request) {
            metrics.cancelled(.disconnect)
            task.cancel()
        }
        let inFlight = self.inFlight
        let callID = context.callID
        let end: @Sendable () async -> Bool = {
            task.cancel()
            ticker.cancel()
            let closing = await watch.stop()
            if let token { inFlight.remove(callID, token: token) }
            return closing
        }
        var iterator = events.makeAsyncIterator()
        let first = await withTaskCancellationHandler { await iterator.next() } onCancel: { task.cancel() }
        switch first {
        case .reply(let reply):
            return Self.json(reply, era: era, closing: await end())
        case nil:
            _ = await end()
            return Self.error(.internalServerError, JSONRPCError(.internalError, "the call ended without a reply"), id: message.id)
        case .notification, .ping:
            break
        }
        metrics.streamOpened(.response)
        return Response(
            status: .ok, headers: SSE.headers,
            body: ResponseBody { writer in
                var pending = first
                var remaining = events.makeAsyncIterator()
                do {
                    while let event = pending {
                        switch event {
                        case .notification(let bytes): try await writer.write(SSE.message(bytes))
                        case .ping: try await writer.write(SSE.ping)
                        case .reply(let reply): try await writer.write(SSE.message(reply.bytes))
                        }
                        if case .reply = event { break }
                        pending = await remaining.next()
                    }
                } catch {
                    task.cancel()
                }
                _ = await end()
                metrics.streamClosed(.response)
                try await writer.finish(nil)
            }
        )
    }

    /// A JSON response; in the 2026-07-28 era an error sets the HTTP status (400, 404) by its code.
    static func json(_ reply: MCPReply, era: ProtocolEra, closing: Bool = false) -> Response {
        let status = era.isModern ? (reply.error?.modernStatus ?? .ok) : .ok
        return Response.json(reply.bytes, status: status, headers: DisconnectWatch.connectionHeaders(closing: closing))
    }

    // MARK: Event streams

    static let listChanged = JSONRPCResponse.notification(method: "notifications/tools/list_changed", params: Array("{}".utf8))

    /// The handshake-era GET stream: `notifications/tools/list_changed` when the catalogue changes.
    func get(_ request: Request) -> Response {
        let principal: String
        switch admit(request) {
        case .success(let admitted): principal = admitted
        case .failure(let refusal): return refusal.response
        }
        if let version = request.headers[.mcpProtocolVersion], !ProtocolVersion.handshake.contains(version) {
            return Response(status: .methodNotAllowed, headers: [.allow: "POST"])
        }
        guard AcceptedTypes(request.headers[values: .accept]).eventStream else {
            return Self.error(.notAcceptable, JSONRPCError(.invalidRequest, "GET /mcp answers with text/event-stream: add it to Accept"))
        }
        let session: MCPSession?
        switch self.session(request, principal: principal) {
        case .success(let found): session = found
        case .failure(let refusal): return refusal.response
        }
        return catalogStream(.get, key: session?.id, request: request, changed: SSE.message(Self.listChanged))
    }

    /// 2026-07-28 `subscriptions/listen`: the acknowledgement, then tagged tool-list changes until the
    /// client closes; at shutdown the subscription's result ends it.
    private func listen(_ message: JSONRPCMessage, request: Request) -> Response {
        let subscription = Subscription(message)
        return catalogStream(
            .listen, key: nil, request: request, first: SSE.message(subscription.acknowledged),
            changed: subscription.wantsTools ? SSE.message(subscription.changed) : nil, last: SSE.message(subscription.final)
        )
    }

    /// An event stream fed by the catalogue watch: `first` at once, `changed` on each catalogue change,
    /// pings to keep it open, and `last` when the server ends it (a client that left gets nothing).
    private func catalogStream(
        _ kind: MCPMetrics.Stream, key: String?, request: Request, first: ByteBuffer? = nil, changed: ByteBuffer?, last: ByteBuffer? = nil
    ) -> Response {
        let (frames, sink) = AsyncStream.makeStream(of: ByteBuffer.self, bufferingPolicy: .bufferingNewest(64))
        if let first { sink.yield(first) }
        let token = catalogWatch.subscribe(key: key) { event in
            switch event {
            case .toolsChanged: if let changed { sink.yield(changed) }
            case .ping: sink.yield(SSE.ping)
            case .replaced: sink.finish()
            }
        }
        metrics.streamOpened(kind)
        let (watch, metrics) = (catalogWatch, self.metrics)
        return Response(
            status: .ok, headers: SSE.headers,
            body: SSE.body(
                frames, request: request,
                finish: {
                    if let last { sink.yield(last) }
                    sink.finish()
                }
            ) {
                watch.unsubscribe(token)
                metrics.streamClosed(kind)
            }
        )
    }

    // MARK: DELETE

    /// Sessions are signed and expire on their own, so there is nothing to terminate: 405, which the
    /// spec allows and clients accept.
    func delete(_ request: Request) -> Response {
        if case .failure(let refusal) = admit(request) { return refusal.response }
        if let version = request.headers[.mcpProtocolVersion], !ProtocolVersion.handshake.contains(version) {
            return Response(status: .methodNotAllowed, headers: [.allow: "POST"])
        }
        return Self.error(
            .methodNotAllowed, JSONRPCError(.invalidRequest, "sessions are signed and expire on their own; there is nothing to delete"), headers: [.allow: "GET, POST"]
        )
    }

    private func tooLarge() -> Response {
        Self.error(.contentTooLarge, JSONRPCError(.invalidRequest, "request body exceeds \(Units.formatBytes(Int64(maxBodySize))) (SWITCHBOARD_MAX_BODY)"))
    }
}
