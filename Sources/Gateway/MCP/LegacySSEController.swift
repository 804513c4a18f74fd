import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import SwitchboardCore

/// The deprecated HTTP+SSE transport of 2024-11-05, for old clients: `GET /sse` opens an event
/// stream whose first event names the endpoint to POST messages to (`/messages?session_id=…`);
/// answers come back on the stream. Handshake era only.
///
/// A session lives in the memory of the replica holding its stream, so behind several gateway
/// replicas this transport needs sticky routing; the Streamable HTTP endpoint `/mcp` does not.
struct LegacySSEController: Sendable {
    let mcp: MCPController
    let sessions = LegacySSESessions()

    func addRoutes(to router: Router<ServiceRequestContext>) {
        router.get("sse") { request, _ in
            open(request)
        }
        router.post("messages") { request, _ in
            await post(request)
        }
    }

    func open(_ request: Request) -> Response {
        let principal: String
        switch mcp.admit(request) {
        case .success(let admitted): principal = admitted
        case .failure(let refusal): return refusal.response
        }
        guard AcceptedTypes(request.headers[values: .accept]).eventStream else {
            return MCPController.error(.notAcceptable, JSONRPCError(.invalidRequest, "GET /sse answers with text/event-stream: add it to Accept"))
        }
        let id = Digest.randomToken(bytes: 16)
        // Bounded: a client that stops reading loses its session rather than the gateway its memory.
        let (frames, sink) = AsyncStream.makeStream(of: ByteBuffer.self, bufferingPolicy: .bufferingOldest(4096))
        let send: @Sendable ([UInt8]) -> Void = { bytes in
            if case .dropped = sink.yield(SSE.message(bytes)) { sink.finish() }
        }
        let connection = MCPConnection(
            server: mcp.server, catalogWatch: mcp.catalogWatch, principal: principal, key: "sse:\(id)", servesModern: false, send: send
        )
        let subscription = mcp.catalogWatch.subscribe(key: nil) { event in
            switch event {
            case .toolsChanged: connection.catalogChanged()
            case .ping: sink.yield(SSE.ping)
            case .replaced: break
            }
        }
        sessions.add(id, principal: principal, connection: connection)
        sink.yield(SSE.event("endpoint", data: "/messages?session_id=\(id)"))
        let (watch, metrics, sessions) = (mcp.catalogWatch, mcp.metrics, self.sessions)
        metrics.streamOpened(.sse)
        return Response(
            status: .ok, headers: SSE.headers,
            body: SSE.body(frames, request: request, finish: { sink.finish() }) {
                sessions.remove(id)
                watch.unsubscribe(subscription)
                connection.close()
                metrics.streamClosed(.sse)
            }
        )
    }

    func post(_ request: Request) async -> Response {
        var request = request
        let principal: String
        switch mcp.admit(request) {
        case .success(let admitted): principal = admitted
        case .failure(let refusal): return refusal.response
        }
        guard let id = request.uri.queryParameters["session_id"].map(String.init), let connection = sessions.connection(id, principal: principal) else {
            return MCPController.error(.notFound, JSONRPCError(.invalidRequest, "unknown session: open GET /sse and post to the endpoint it names"))
        }
        guard AcceptedTypes.isJSON(request.headers[.contentType]) else {
            return MCPController.error(.unsupportedMediaType, JSONRPCError(.invalidRequest, "Content-Type must be application/json"))
        }
        let body: [UInt8]
        do {
            body = Array(try await request.collectBody(upTo: mcp.maxBodySize).readableBytesView)
        } catch {
            return MCPController.error(.contentTooLarge, JSONRPCError(.invalidRequest, "request body exceeds \(Units.formatBytes(Int64(mcp.maxBodySize))) (SWITCHBOARD_MAX_BODY)"))
        }
        guard !JSONRPCMessage.isBatch(body) else {
            return MCPController.error(.badRequest, JSONRPCError(.invalidRequest, "batch requests are not supported on this transport"))
        }
        switch JSONRPCMessage.parse(body) {
        case .success(let message):
            connection.receive(message)
            return Response(status: .accepted)
        case .failure(let failure):
            return MCPController.error(.badRequest, failure.error, id: failure.id)
        }
    }
}

/// The open `GET /sse` streams of this replica, by session id.
final class LegacySSESessions: Sendable {
    private let sessions = Mutex<[String: (principal: String, connection: MCPConnection)]>([:])

    func add(_ id: String, principal: String, connection: MCPConnection) {
        sessions.withLock { $0[id] = (principal, connection) }
    }

    func remove(_ id: String) {
        _ = sessions.withLock { $0.removeValue(forKey: id) }
    }

    /// The session's connection when it exists and belongs to `principal`.
    func connection(_ id: String, principal: String) -> MCPConnection? {
        sessions.withLock { sessions in
            guard let session = sessions[id], session.principal == principal else { return nil }
            return session.connection
        }
    }

    var count: Int { sessions.withLock { $0.count } }
}
