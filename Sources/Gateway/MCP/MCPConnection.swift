import Synchronization
import SwitchboardCore

/// One client on a transport that carries many messages both ways — stdio, or the deprecated
/// HTTP+SSE transport. Requests run concurrently; answers and notifications leave through `send`;
/// `notifications/cancelled` stops a request in progress, which then gets no answer (as the spec asks).
final class MCPConnection: Sendable {
    private let server: MCPServer
    private let catalogWatch: CatalogWatch
    private let principal: String
    /// Names this connection for log levels and downstream call ids.
    private let key: String
    /// Whether 2026-07-28 requests (carrying the `_meta` envelope) are served here (stdio) or not (SSE).
    private let servesModern: Bool
    private let send: @Sendable ([UInt8]) -> Void
    /// Requests in progress by their raw JSON-RPC id.
    private let running = CancellationRegistry()
    private let state = Mutex<State>(State())

    private struct State {
        var version = ProtocolVersion.assumedHandshake
        var initialized = false
        var next: UInt64 = 0
        var tasks: [UInt64: Task<Void, Never>] = [:]
        /// Tasks that finished before they were recorded in `tasks`.
        var finishedEarly: Set<UInt64> = []
        var subscriptions: [UInt64] = []
        var closed = false
    }

    init(
        server: MCPServer, catalogWatch: CatalogWatch, principal: String, key: String, servesModern: Bool,
        send: @escaping @Sendable ([UInt8]) -> Void
    ) {
        self.server = server
        self.catalogWatch = catalogWatch
        self.principal = principal
        self.key = key
        self.servesModern = servesModern
        self.send = send
    }

    /// Handles one message from the client.
    func receive(_ message: JSONRPCMessage) {
        switch message.kind {
        case .response:
            return
        case .notification:
            let era: ProtocolEra = servesModern && message.envelopeVersion != nil ? .modern(ProtocolVersion.modern[0]) : .handshake(version)
            server.metrics.request(message.method, era: era)
            if message.method == "notifications/cancelled", let id = message.param("requestId") {
                server.metrics.cancelled(.notification)
                running.cancel(String(decoding: id, as: UTF8.self))
            }
        case .request:
            start(message)
        }
    }

    /// Sends the error for a message that could not be read.
    func reject(_ failure: JSONRPCFailure) {
        server.metrics.error(failure.error.code)
        send(JSONRPCResponse.error(id: failure.id, failure.error))
    }

    private var version: String { state.withLock { $0.version } }

    private func start(_ message: JSONRPCMessage) {
        let id = message.id ?? JSONRPCResponse.nullID
        var context: MCPRequestContext
        if servesModern && message.envelopeVersion != nil {
            switch ModernEnvelope.validate(message, headers: nil) {
            case .success(let envelope):
                context = MCPRequestContext(
                    principal: principal, era: .modern(envelope.version), clientCapabilities: envelope.clientCapabilities,
                    progressToken: envelope.progressToken, logLevel: envelope.logLevel
                )
            case .failure(let error):
                server.metrics.error(error.code)
                send(JSONRPCResponse.error(id: id, error))
                return
            }
            if message.method == "subscriptions/listen" {
                listen(message, id: id)
                return
            }
        } else {
            context = MCPRequestContext(principal: principal, era: .handshake(version), sessionKey: key)
            context.logLevel = server.logLevels.level(for: key)
            do {
                context.progressToken = try ModernEnvelope.progressToken(in: try message.meta())
            } catch {
                server.metrics.error(error.code)
                send(JSONRPCResponse.error(id: id, error))
                return
            }
        }
        context.callID = MCPRequestContext.callID(sessionKey: key, requestID: id)
        context.notify = send
        let running = context
        let (server, send, registry) = (self.server, self.send, self.running)
        let requestKey = String(decoding: id, as: UTF8.self)
        let handle = CancelHandle()
        let registration = registry.add(requestKey) { handle.cancel() }
        let (token, closed) = state.withLock { state -> (UInt64, Bool) in
            state.next += 1
            return (state.next, state.closed)
        }
        let task = Task {
            let reply = await server.handle(message, context: running)
            if let version = reply.negotiatedVersion {
                self.state.withLock {
                    $0.version = version
                    $0.initialized = true
                }
            }
            // A cancelled request is not answered.
            if reply.error != .requestCancelled { send(reply.bytes) }
            registry.remove(requestKey, token: registration)
            self.state.withLock { state in
                if state.tasks.removeValue(forKey: token) == nil { state.finishedEarly.insert(token) }
            }
        }
        state.withLock { state in
            if state.finishedEarly.remove(token) == nil { state.tasks[token] = task }
        }
        handle.attach(task)
        if closed { handle.cancel() }
    }

    /// 2026-07-28 `subscriptions/listen` on a connection: the acknowledgement, then tagged
    /// `notifications/tools/list_changed` until the client cancels the subscription.
    private func listen(_ message: JSONRPCMessage, id: [UInt8]) {
        server.metrics.request(message.method, era: .modern(ProtocolVersion.modern[0]))
        let listened = Subscription(message)
        send(listened.acknowledged)
        guard listened.wantsTools else { return }
        let changed = listened.changed
        let send = self.send
        let subscription = catalogWatch.subscribe(key: nil) { event in
            if case .toolsChanged = event { send(changed) }
        }
        let watch = catalogWatch
        _ = running.add(String(decoding: id, as: UTF8.self)) { watch.unsubscribe(subscription) }
        state.withLock { $0.subscriptions.append(subscription) }
    }

    /// Handshake-era clients hear about catalogue changes once they initialized.
    func catalogChanged() {
        guard state.withLock({ $0.initialized }) else { return }
        send(MCPController.listChanged)
    }

    /// Waits until every request in progress has answered.
    func drain() async {
        while let task = state.withLock({ $0.tasks.popFirst()?.value }) {
            await task.value
        }
    }

    /// The client went away: cancels everything in progress and ends its subscriptions.
    func close() {
        let subscriptions = state.withLock { state -> [UInt64] in
            state.closed = true
            return state.subscriptions
        }
        running.cancelAll()
        for subscription in subscriptions { catalogWatch.unsubscribe(subscription) }
    }
}

/// Cancels a task that may not exist yet: a cancellation that comes first is applied when it is attached.
final class CancelHandle: Sendable {
    private let state = Mutex<(task: Task<Void, Never>?, cancelled: Bool)>((nil, false))

    func attach(_ task: Task<Void, Never>) {
        let cancelled = state.withLock { state -> Bool in
            state.task = task
            return state.cancelled
        }
        if cancelled { task.cancel() }
    }

    func cancel() {
        let task = state.withLock { state -> Task<Void, Never>? in
            state.cancelled = true
            return state.task
        }
        task?.cancel()
    }
}
