import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import SwitchboardCore
import Testing

/// `ServiceClient.send` over ``ServiceConnectionPool`` against a real HTTP/1.1 server that counts its
/// connections and answers by path: `/echo` (the request's headers and body back), `/close`
/// (`Connection: close`), `/silent` (never answers), `/big` (1 MiB), `/cut` (closes mid-answer).
struct ServiceClientTests {
    @Test func keepAliveConnectionsAreReusedAndRequestsCarryTheServiceHeaders() async throws {
        try await withServer { server, client in
            for index in 0..<3 {
                let response = try await client.send(.POST, "/echo", body: Array("call \(index)".utf8), principal: "alice")
                #expect(response.status == 200)
                let echoed = try response.json()
                #expect(echoed["body"] == .string("call \(index)"))
                #expect(echoed["authorization"] == "Bearer secret")
                #expect(echoed["principal"] == "alice")
                #expect(echoed["host"] == .string("127.0.0.1:\(server.port)"))
                #expect(echoed["uri"] == "/base/echo")
            }
            #expect(server.connections == 1)
        }
    }

    @Test func aConnectionTheServerClosesIsNotReused() async throws {
        try await withServer { server, client in
            for _ in 0..<3 {
                let response = try await client.send(.GET, "/close")
                #expect(response.status == 200)
                #expect(String(decoding: response.bytes, as: UTF8.self) == "bye")
            }
            #expect(server.connections == 3)
        }
    }

    @Test func aSilentServiceTimesOutAndTheNextCallGetsAFreshConnection() async throws {
        try await withServer { server, client in
            let error = await callError { () async throws(ServiceCallError) in _ = try await client.send(.GET, "/silent", timeout: .milliseconds(200)) }
            #expect(error?.code == .timeout)
            let response = try await client.send(.POST, "/echo", body: Array("after".utf8))
            #expect(try response.json()["body"] == "after")
            #expect(server.connections == 2)
            try await waitUntil { server.open == 1 }
        }
    }

    @Test func aConnectionIdleForLongerThanTheIdleTimeoutIsClosedAndTheNextCallOpensAnother() async throws {
        try await withServer(idleTimeout: .milliseconds(300)) { server, client in
            _ = try await client.send(.POST, "/echo", body: Array("first".utf8))
            _ = try await client.send(.POST, "/echo", body: Array("second".utf8))
            #expect(server.connections == 1)
            #expect(server.open == 1)
            // Nobody uses it: the client closes it once it has been idle for the timeout.
            try await waitUntil { server.open == 0 }
            let response = try await client.send(.POST, "/echo", body: Array("later".utf8))
            #expect(try response.json()["body"] == "later")
            #expect(server.connections == 2)
        }
    }

    @Test func anAnswerOverTheLimitAndAnAnswerCutShortAreErrorsNamingWhy() async throws {
        try await withServer(maxResponseBytes: 64 << 10) { server, client in
            let big = await callError { () async throws(ServiceCallError) in _ = try await client.send(.GET, "/big") }
            #expect(big?.code == .invalidResponse)
            #expect(big?.message.contains("larger than 65536 bytes") == true)
            let cut = await callError { () async throws(ServiceCallError) in _ = try await client.send(.GET, "/cut") }
            #expect(cut?.code == .unreachable)
            #expect(cut?.message.contains("before the answer was complete") == true)
            let next = try await client.send(.GET, "/close")
            #expect(next.status == 200)
        }
    }

    @Test func aServiceThatIsNotListeningIsUnreachable() async throws {
        let http = HTTPClientService()
        let client = ServiceClient(baseURL: "http://127.0.0.1:\(try closedPort())", http: http, secret: "secret")
        let error = await callError { () async throws(ServiceCallError) in _ = try await client.send(.GET, "/echo") }
        #expect(error?.code == .unreachable)
        #expect(error?.message.contains("cannot connect") == true)
        http.connections.shutdown()
    }

    @Test func cancellingTheCallerClosesItsConnection() async throws {
        try await withServer { server, client in
            let call = Task { try await client.send(.GET, "/silent") }
            try await waitUntil { server.open == 1 }
            call.cancel()
            await #expect(throws: ServiceCallError.self) { try await call.value }
            try await waitUntil { server.open == 0 }
        }
    }

    @Test func concurrentCallsEachGetTheirOwnAnswer() async throws {
        try await withServer { server, client in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<32 {
                    group.addTask {
                        let response = try await client.send(.POST, "/echo", body: Array("n\(index)".utf8))
                        #expect(try response.json()["body"] == .string("n\(index)"))
                    }
                }
                try await group.waitForAll()
            }
            #expect(server.connections <= 32)
        }
    }

    @Test func callsBeyondTheConnectionLimitWaitForAConnectionToComeFree() async throws {
        try await withServer(connections: 2) { server, client in
            // Two calls hold both connections without an answer; the others queue behind them.
            let stuck = (0..<2).map { _ in Task { try await client.send(.GET, "/silent", timeout: .milliseconds(300)) } }
            try await waitUntil { server.open == 2 }
            let answered = Tally()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<16 {
                    group.addTask {
                        let response = try await client.send(.POST, "/echo", body: Array("q\(index)".utf8))
                        #expect(try response.json()["body"] == .string("q\(index)"))
                        answered.add()
                    }
                }
                // While both connections are held, nobody else connects or gets an answer.
                try await Task.sleep(for: .milliseconds(100))
                #expect(server.connections == 2)
                #expect(answered.count == 0)
                try await group.waitForAll()
            }
            #expect(answered.count == 16)
            for call in stuck { await #expect(throws: ServiceCallError.self) { try await call.value } }
            // Each timed-out call's connection was closed and its place taken by one new connection.
            #expect(server.connections == 4)
        }
    }

    // MARK: - Harness

    private func withServer(
        maxResponseBytes: Int = 8 << 20, connections: Int = 64, idleTimeout: Duration = .seconds(60),
        _ body: (TestHTTPServer, ServiceClient) async throws -> Void
    ) async throws {
        let server = try await TestHTTPServer.start()
        let http = HTTPClientService(connectionsPerHost: connections, idleTimeout: idleTimeout)
        let client = ServiceClient(
            baseURL: "http://127.0.0.1:\(server.port)/base/", http: http, secret: "secret", timeout: .seconds(10), maxResponseBytes: maxResponseBytes
        )
        do {
            try await body(server, client)
        } catch {
            http.connections.shutdown()
            try await server.stop()
            throw error
        }
        http.connections.shutdown()
        try await server.stop()
    }

    /// The error a call failed with; nil (and an issue) when it succeeded.
    private func callError(_ call: () async throws(ServiceCallError) -> Void) async -> ServiceCallError? {
        do {
            try await call()
            Issue.record("the call succeeded")
            return nil
        } catch {
            return error
        }
    }

    private func waitUntil(_ condition: () -> Bool) async throws {
        for _ in 0..<200 where !condition() {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(condition())
    }

    private func closedPort() throws -> Int {
        let socket = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).wait()
        let port = socket.localAddress!.port!
        try socket.close().wait()
        return port
    }
}

final class Tally: Sendable {
    private let value = Mutex(0)
    var count: Int { value.withLock { $0 } }
    func add() { value.withLock { $0 += 1 } }
}

/// A small HTTP/1.1 server on 127.0.0.1 that counts connections.
final class TestHTTPServer: Sendable {
    private let channel: any Channel
    private let counts: Counts
    let port: Int

    var connections: Int { counts.value.withLock { $0.accepted } }
    var open: Int { counts.value.withLock { $0.open } }


    private init(channel: any Channel, counts: Counts) {
        self.channel = channel
        self.counts = counts
        port = channel.localAddress!.port!
    }

    static func start() async throws -> TestHTTPServer {
        let counts = Counts()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                counts.opened()
                channel.closeFuture.whenComplete { _ in counts.closed() }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Responder())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return TestHTTPServer(channel: channel, counts: counts)
    }

    func stop() async throws {
        try await channel.close()
    }

    private final class Counts: Sendable {
        let value = Mutex<(accepted: Int, open: Int)>((0, 0))
        func opened() { value.withLock { $0.accepted += 1; $0.open += 1 } }
        func closed() { value.withLock { $0.open -= 1 } }
    }
}

private final class Responder: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var head: HTTPRequestHead?
    private var body = ByteBuffer()

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let received):
            head = received
            body.clear()
        case .body(var chunk):
            body.writeBuffer(&chunk)
        case .end:
            guard let head else { return }
            answer(head, context: context)
        }
    }

    private func answer(_ request: HTTPRequestHead, context: ChannelHandlerContext) {
        switch request.uri {
        case "/base/echo":
            let echoed: JSONValue = .object([
                ("body", .string(String(buffer: body))),
                ("uri", .string(request.uri)),
                ("authorization", .string(request.headers.first(name: "Authorization") ?? "")),
                ("principal", .string(request.headers.first(name: "X-Switchboard-Principal") ?? "")),
                ("host", .string(request.headers.first(name: "Host") ?? "")),
            ])
            var writer = JSONWriter()
            writer.value(echoed)
            respond(writer.bytes, close: false, context: context)
        case "/base/close":
            respond(Array("bye".utf8), close: true, context: context)
        case "/base/big":
            respond([UInt8](repeating: 0x61, count: 1 << 20), close: false, context: context)
        case "/base/cut":
            var headers = HTTPHeaders()
            headers.add(name: "Content-Length", value: "100")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "partial")))), promise: nil)
            context.close(promise: nil)
        default:  // "/base/silent"
            break
        }
    }

    private func respond(_ bytes: [UInt8], close: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Length", value: String(bytes.count))
        if close { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: bytes)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        if close { context.close(mode: .output, promise: nil) }
    }
}
