import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// Keep-alive HTTP/1.1 connections to the suite's services, kept per event loop, for calls whose answer is
/// collected whole (``ServiceClient/send(_:_:body:principal:headers:timeout:)``).
///
/// A call made on an event loop (see ``EventLoopExecutor``) takes an idle connection of that loop or opens
/// one there, writes the request and completes when the answer's last byte is read: one thread, no
/// request state machine beyond the one the call needs. A loop opens at most `connectionsPerUpstream`
/// connections to one upstream; further calls wait for one to come free. A connection goes back to its
/// loop when the answer allows keep-alive, and is closed on any error, timeout or cancellation, so a
/// connection never carries two calls at once. A connection left idle for `idleTimeout` is closed: a peer
/// that vanished without closing (a replica's host gone, a firewall that forgot the flow) then costs no
/// call a timeout.
public final class ServiceConnectionPool: Sendable {
    private let connectionsPerUpstream: Int
    private let connectTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let pools = Mutex<[ObjectIdentifier: LoopPool]>([:])
    /// Where calls made off the event loops go (one loop, so that they share its idle connections).
    private let home = MultiThreadedEventLoopGroup.singleton.next()

    public init(connectionsPerUpstream: Int = 64, connectTimeout: TimeAmount = .seconds(2), idleTimeout: TimeAmount = .seconds(60)) {
        self.connectionsPerUpstream = max(connectionsPerUpstream, 1)
        self.connectTimeout = connectTimeout
        self.idleTimeout = max(idleTimeout, .milliseconds(1))
    }

    /// Sends one request to `host:port` and collects the answer.
    /// - Throws: ``ServiceConnectionError``, or `CancellationError` when the task is cancelled.
    public func send(
        host: String, port: Int, head: HTTPRequestHead, body: ByteBuffer?, timeout: TimeAmount, maxResponseBytes: Int
    ) async throws -> ServiceResponse {
        let pool = pool(for: MultiThreadedEventLoopGroup.currentEventLoop ?? home)
        let call = Call(pool: pool, upstream: Upstream(host: host, port: port), head: head, body: body, limit: maxResponseBytes)
        return try await withTaskCancellationHandler {
            try await call.run(timeout: timeout).get()
        } onCancel: {
            call.cancel()
        }
    }

    /// Closes every idle connection (in-flight calls finish on theirs, which are then closed too).
    public func shutdown() {
        let all = pools.withLock { pools in
            defer { pools.removeAll() }
            return Array(pools.values)
        }
        for pool in all { pool.shutdown() }
    }

    private func pool(for loop: any EventLoop) -> LoopPool {
        pools.withLock { pools in
            if let pool = pools[ObjectIdentifier(loop)] { return pool }
            let pool = LoopPool(loop: loop, limit: connectionsPerUpstream, connectTimeout: connectTimeout, idleTimeout: idleTimeout)
            pools[ObjectIdentifier(loop)] = pool
            return pool
        }
    }
}

/// Why a call on a ``ServiceConnectionPool`` connection failed.
public struct ServiceConnectionError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable {
        /// No connection could be made.
        case connect
        /// The connection closed or failed before the whole answer arrived.
        case closed
        case timeout
        /// The answer is larger than the caller accepts.
        case tooLarge
    }

    public let code: Code
    public let message: String
    public var description: String { message }
}

private struct Upstream: Hashable {
    let host: String
    let port: Int
}

/// One loop's connections; touched only on that loop.
private final class LoopPool: @unchecked Sendable {
    let loop: any EventLoop
    private let limit: Int
    private let connectTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private var upstreams: [Upstream: Connections] = [:]
    private var closed = false
    /// Closes the connections idle for longer than `idleTimeout`; scheduled while there are idle connections.
    private var sweep: Scheduled<Void>?

    /// The connections of one upstream on this loop.
    private struct Connections {
        /// Oldest first; calls take the most recently used, so that the others age out.
        var idle: [(connection: Connection, since: NIODeadline)] = []
        /// Open or being opened, idle or busy.
        var open = 0
        /// Calls waiting for a connection, first come first served.
        var waiting = CircularBuffer<EventLoopPromise<Connection>>()
    }

    init(loop: any EventLoop, limit: Int, connectTimeout: TimeAmount, idleTimeout: TimeAmount) {
        self.loop = loop
        self.limit = limit
        self.connectTimeout = connectTimeout
        self.idleTimeout = idleTimeout
    }

    /// An idle open connection to `upstream`, a new one while under the limit, or the next one to come free.
    func acquire(_ upstream: Upstream) -> EventLoopFuture<Connection> {
        loop.assertInEventLoop()
        while let connection = upstreams[upstream]?.idle.popLast()?.connection {
            if connection.channel.isActive { return loop.makeSucceededFuture(connection) }
        }
        if upstreams[upstream, default: Connections()].open < limit {
            return connect(upstream)
        }
        let promise = loop.makePromise(of: Connection.self)
        upstreams[upstream, default: Connections()].waiting.append(promise)
        return promise.futureResult
    }

    /// Takes back a connection whose call ended with a complete keep-alive answer (or never used it).
    func release(_ connection: Connection, to upstream: Upstream) {
        loop.assertInEventLoop()
        guard !closed, connection.channel.isActive else {
            connection.channel.close(promise: nil)
            return
        }
        if let waiter = upstreams[upstream]?.waiting.popFirst() {
            waiter.succeed(connection)
        } else {
            upstreams[upstream, default: Connections()].idle.append((connection, .now()))
            if sweep == nil { scheduleSweep(at: .now() + idleTimeout) }
        }
    }

    private func scheduleSweep(at deadline: NIODeadline) {
        sweep = loop.scheduleTask(deadline: deadline) { self.closeExpired() }
    }

    private func closeExpired() {
        sweep = nil
        guard !closed else { return }
        let now = NIODeadline.now()
        var next: NIODeadline?
        for (upstream, connections) in upstreams where !connections.idle.isEmpty {
            let expired = connections.idle.prefix { $0.since + idleTimeout <= now }
            for (connection, _) in expired { connection.channel.close(promise: nil) }
            upstreams[upstream]?.idle.removeFirst(expired.count)
            if let oldest = connections.idle.dropFirst(expired.count).first {
                next = min(next ?? .distantFuture, oldest.since + idleTimeout)
            }
        }
        if let next { scheduleSweep(at: next) }
    }

    func shutdown() {
        loop.execute {
            self.closed = true
            self.sweep?.cancel()
            for connections in self.upstreams.values {
                for (connection, _) in connections.idle { connection.channel.close(promise: nil) }
                for waiter in connections.waiting { waiter.fail(ServiceConnectionError(code: .closed, message: "the client is shutting down")) }
            }
            self.upstreams.removeAll()
        }
    }

    private func connect(_ upstream: Upstream) -> EventLoopFuture<Connection> {
        upstreams[upstream, default: Connections()].open += 1
        let collector = ResponseCollector()
        return ClientBootstrap(group: loop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
            .connect(host: upstream.host, port: upstream.port)
            .map { channel in
                channel.closeFuture.whenComplete { _ in self.connectionClosed(upstream) }
                return Connection(channel: channel, collector: collector)
            }
            .flatMapErrorThrowing { error in
                let failure = ServiceConnectionError(code: .connect, message: "cannot connect to \(upstream.host):\(upstream.port): \(error)")
                // The upstream is not there: the calls waiting for it would fail the same way.
                self.upstreams[upstream]?.open -= 1
                while let waiter = self.upstreams[upstream]?.waiting.popFirst() { waiter.fail(failure) }
                throw failure
            }
    }

    /// A connection closed: its place goes to the first waiting call.
    private func connectionClosed(_ upstream: Upstream) {
        upstreams[upstream]?.open -= 1
        guard !closed, let waiter = upstreams[upstream]?.waiting.popFirst() else { return }
        connect(upstream).cascade(to: waiter)
    }
}

private struct Connection {
    let channel: any Channel
    let collector: ResponseCollector
}

/// One request on one connection, from acquiring it to releasing or closing it.
private final class Call: @unchecked Sendable {
    private let pool: LoopPool
    private let upstream: Upstream
    private let head: HTTPRequestHead
    private let body: ByteBuffer?
    private let limit: Int
    private let result: EventLoopPromise<ServiceResponse>
    // Loop-confined state.
    private var connection: Connection?
    private var finished = false
    private var timer: Scheduled<Void>?

    init(pool: LoopPool, upstream: Upstream, head: HTTPRequestHead, body: ByteBuffer?, limit: Int) {
        self.pool = pool
        self.upstream = upstream
        self.head = head
        self.body = body
        self.limit = limit
        result = pool.loop.makePromise()
    }

    func run(timeout: TimeAmount) -> EventLoopFuture<ServiceResponse> {
        onLoop {
            guard !self.finished else { return }
            self.timer = self.pool.loop.scheduleTask(in: timeout) {
                self.finish(.failure(ServiceConnectionError(code: .timeout, message: "no answer within \(timeout.nanoseconds / 1_000_000) ms")))
            }
            self.pool.acquire(self.upstream).whenComplete { acquired in
                switch acquired {
                case .success(let connection) where !self.finished:
                    self.connection = connection
                    connection.collector.expect(limit: self.limit) { self.finish($0) }
                    connection.channel.write(HTTPClientRequestPart.head(self.head), promise: nil)
                    if let body = self.body { connection.channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil) }
                    connection.channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
                case .success(let connection):
                    self.pool.release(connection, to: self.upstream)  // the call ended while waiting for it
                case .failure(let error):
                    self.finish(.failure(error))
                }
            }
        }
        return result.futureResult
    }

    func cancel() {
        onLoop { self.finish(.failure(CancellationError())) }
    }

    /// Completes the call once: a complete keep-alive answer returns the connection, anything else closes it.
    private func finish(_ outcome: Result<ServiceResponse, any Error>) {
        guard !finished else { return }
        finished = true
        timer?.cancel()
        if let connection {
            connection.collector.forget()
            if case .success(let response) = outcome, response.keepAlive {
                pool.release(connection, to: upstream)
            } else {
                connection.channel.close(promise: nil)
            }
        }
        result.completeWith(outcome)
    }

    private func onLoop(_ body: @escaping @Sendable () -> Void) {
        if pool.loop.inEventLoop { body() } else { pool.loop.execute(body) }
    }
}

/// The last handler of a pool connection: collects the answer to the call in progress.
private final class ResponseCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart

    private var head: HTTPResponseHead?
    private var body: ByteBuffer?
    private var limit = 0
    private var completion: ((Result<ServiceResponse, any Error>) -> Void)?

    func expect(limit: Int, completion: @escaping (Result<ServiceResponse, any Error>) -> Void) {
        self.limit = limit
        self.completion = completion
        head = nil
        body = nil
    }

    func forget() {
        completion = nil
        head = nil
        body = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let received):
            head = received
        case .body(var chunk):
            if body == nil {
                body = chunk
            } else {
                body!.writeBuffer(&chunk)
            }
            if let body, body.readableBytes > limit {
                complete(.failure(ServiceConnectionError(code: .tooLarge, message: "the answer is larger than \(limit) bytes")))
            }
        case .end:
            guard let head else {
                complete(.failure(ServiceConnectionError(code: .closed, message: "an answer ended without a head")))
                return
            }
            complete(.success(ServiceResponse(
                status: Int(head.status.code), headers: head.headers, body: body ?? ByteBuffer(), keepAlive: head.isKeepAlive
            )))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        complete(.failure(ServiceConnectionError(code: .closed, message: "the connection closed before the answer was complete")))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        complete(.failure(ServiceConnectionError(code: .closed, message: "the connection failed before the answer was complete: \(error)")))
        context.close(promise: nil)
    }

    private func complete(_ outcome: Result<ServiceResponse, any Error>) {
        guard let completion else { return }
        forget()
        completion(outcome)
    }
}
