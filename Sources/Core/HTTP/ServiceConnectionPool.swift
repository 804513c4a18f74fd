import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// Keep-alive HTTP/1.1 connections to the suite's services, kept per event loop, for calls whose answer is
/// collected whole (``ServiceClient/send(_:_:body:principal:headers:timeout:)``).
///
/// A call made on an event loop (see ``EventLoopExecutor``) takes an idle connection of that loop or opens
/// one there, writes the request and completes when the answer's last byte is read: one thread, no
/// request state machine beyond the one the call needs. A connection goes back to its loop's idle list when
/// the answer allows keep-alive, and is closed on any error, timeout or cancellation, so a connection is
/// never shared by two calls.
public final class ServiceConnectionPool: Sendable {
    /// Idle connections kept per loop and upstream; more are closed when they come back.
    private let idleLimit: Int
    private let connectTimeout: TimeAmount
    private let pools = Mutex<[ObjectIdentifier: LoopPool]>([:])
    /// Where calls made off the event loops go (one loop, so that they share its idle connections).
    private let home = MultiThreadedEventLoopGroup.singleton.next()

    public init(idleLimit: Int = 64, connectTimeout: TimeAmount = .seconds(2)) {
        self.idleLimit = idleLimit
        self.connectTimeout = connectTimeout
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
            let pool = LoopPool(loop: loop, idleLimit: idleLimit, connectTimeout: connectTimeout)
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

/// One loop's idle connections; touched only on that loop.
private final class LoopPool: @unchecked Sendable {
    let loop: any EventLoop
    private let idleLimit: Int
    private let connectTimeout: TimeAmount
    private var idle: [Upstream: [Connection]] = [:]
    private var closed = false

    init(loop: any EventLoop, idleLimit: Int, connectTimeout: TimeAmount) {
        self.loop = loop
        self.idleLimit = idleLimit
        self.connectTimeout = connectTimeout
    }

    /// An idle open connection to `upstream`, or a new one.
    func acquire(_ upstream: Upstream) -> EventLoopFuture<Connection> {
        loop.assertInEventLoop()
        while let connection = idle[upstream]?.popLast() {
            if connection.channel.isActive { return loop.makeSucceededFuture(connection) }
        }
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
            .map { Connection(channel: $0, collector: collector) }
            .flatMapErrorThrowing { error in
                throw ServiceConnectionError(code: .connect, message: "cannot connect to \(upstream.host):\(upstream.port): \(error)")
            }
    }

    /// Takes back a connection whose call ended with a complete keep-alive answer.
    func release(_ connection: Connection, to upstream: Upstream) {
        loop.assertInEventLoop()
        guard !closed, connection.channel.isActive, idle[upstream, default: []].count < idleLimit else {
            connection.channel.close(promise: nil)
            return
        }
        idle[upstream, default: []].append(connection)
    }

    func shutdown() {
        loop.execute {
            self.closed = true
            for connection in self.idle.values.joined() { connection.channel.close(promise: nil) }
            self.idle.removeAll()
        }
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
                    connection.channel.close(promise: nil)  // the call timed out or was cancelled while connecting
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

    private func onLoop(_ body: @escaping () -> Void) {
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
